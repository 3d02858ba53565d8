# enclave_add_test(NAME SOURCES a_test.cpp ... LIBS lib ... LABELS fast|slow)
# builds one GoogleTest binary and registers one CTest entry per test suite,
# named NAME.Suite (`ctest -R enclave_store_test.RunsTest`), which runs
# `NAME --gtest_filter=Suite.*`; its output names each failing test.
#
# LABELS is required and is the binary's tier:
#   fast  no test in the binary builds, loads or trains a model: parsers,
#         kernels on hand-made inputs, the store, tokenizers, schedules.
#         `make test-fast` runs only these.
#   slow  at least one test makes a model (even a tiny random one), runs a
#         forward pass, generates or trains. `make test` runs both tiers.
# Whether the binary links libtorch does not decide it: the torch-free unit
# binaries of merge, train and eval link it and are fast.
#
# One entry per suite, not per test: a binary that links libtorch spends
# 0.5-1.7 s loading it before main() on the 2-core machines, and one process
# per test made that most of `make test`. The suites are listed after each
# link (a POST_BUILD step runs the binary with --gtest_list_tests and writes
# NAME_suites.cmake for CTest), so a new suite needs no CMake edit.

if(CMAKE_SCRIPT_MODE_FILE)
  # cmake -D BINARY=... -D NAME=... -D LABELS=... -D WORKDIR=... -D OUT=... -P this file
  execute_process(COMMAND "${BINARY}" --gtest_list_tests
    OUTPUT_VARIABLE listing ERROR_VARIABLE errors RESULT_VARIABLE rc TIMEOUT 120)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${BINARY} --gtest_list_tests failed (${rc}): ${errors}")
  endif()
  string(REPLACE "\n" ";" lines "${listing}")
  set(script "")
  set(n_suites 0)
  foreach(line IN LISTS lines)
    # Suite lines start in column 0: "Suite.", "Prefix/Suite.", "Suite/0.  # TypeParam = int";
    # test lines are indented.
    if(line MATCHES "^([A-Za-z0-9_/]+)\\.")
      set(suite "${CMAKE_MATCH_1}")
      set(test "${NAME}.${suite}")
      string(APPEND script
        "add_test([=[${test}]=] [=[${BINARY}]=] [=[--gtest_filter=${suite}.*]=])\n"
        "set_tests_properties([=[${test}]=] PROPERTIES LABELS ${LABELS} WORKING_DIRECTORY [=[${WORKDIR}]=])\n")
      math(EXPR n_suites "${n_suites} + 1")
    endif()
  endforeach()
  if(n_suites EQUAL 0)
    message(FATAL_ERROR "${BINARY} --gtest_list_tests listed no test suite:\n${listing}")
  endif()
  file(WRITE "${OUT}" "${script}")
  return()
endif()

set(ENCLAVE_TESTING_SCRIPT ${CMAKE_CURRENT_LIST_FILE})

function(enclave_add_test name)
  cmake_parse_arguments(ARG "" "LABELS" "SOURCES;LIBS" ${ARGN})
  if(NOT ARG_LABELS MATCHES "^(fast|slow)$")
    message(FATAL_ERROR "enclave_add_test(${name}): pass LABELS fast or LABELS slow "
                        "(cmake/EnclaveTesting.cmake says which)")
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_compile_definitions(${name} PRIVATE
    ENCLAVE_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    ENCLAVE_BINARY_DIR="${CMAKE_BINARY_DIR}")

  set(suites ${CMAKE_CURRENT_BINARY_DIR}/${name}_suites.cmake)
  add_custom_command(TARGET ${name} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -D BINARY=$<TARGET_FILE:${name}> -D NAME=${name} -D LABELS=${ARG_LABELS}
            -D WORKDIR=${CMAKE_CURRENT_BINARY_DIR} -D OUT=${suites} -P ${ENCLAVE_TESTING_SCRIPT}
    BYPRODUCTS ${suites}
    VERBATIM)
  set(include ${CMAKE_CURRENT_BINARY_DIR}/${name}_include.cmake)
  file(WRITE ${include}
    "if(EXISTS [=[${suites}]=])\n"
    "  include([=[${suites}]=])\n"
    "else()\n"
    "  add_test(${name}_NOT_BUILT ${name}_NOT_BUILT)\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${include})
endfunction()
