# enclave_add_test(NAME SOURCES a_test.cpp ... LIBS lib ... [LABELS fast|slow])
# builds one GoogleTest binary and registers each of its tests with CTest.
include(GoogleTest)
function(enclave_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS fast)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_compile_definitions(${name} PRIVATE
    ENCLAVE_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    ENCLAVE_BINARY_DIR="${CMAKE_BINARY_DIR}")
  gtest_discover_tests(${name}
    PROPERTIES LABELS "${ARG_LABELS}"
    DISCOVERY_TIMEOUT 60)
endfunction()
