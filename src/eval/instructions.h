// Verifiable instructions in the style of IFEval (Zhou et al. 2023,
// "Instruction-Following Evaluation for Large Language Models"): each one a
// rule a program can check on a response. Ids and kwargs follow IFEval's
// data format ({"instruction_id_list": [...], "kwargs": [{...}, ...]}):
//   length_constraints:number_words       {num_words, relation}    \w+ words
//   length_constraints:number_sentences   {num_sentences, relation}
//   length_constraints:number_paragraphs  {num_paragraphs}         split on ***
//   length_constraints:number_characters  {num_chars, relation}    (Enclave) code points
//   keywords:existence                    {keywords}               each present, any case
//   keywords:forbidden_words              {forbidden_words}        none as a whole word
//   keywords:frequency                    {keyword, frequency, relation}
//   detectable_format:json_format         {}   the whole response (``` fences allowed) is JSON
//   detectable_format:number_bullet_lists {num_bullets}  exactly N "* " / "- " lines
//   detectable_format:title               {}   a <<title>>
//   detectable_format:number_highlighted_sections {num_highlights}  *text* spans
//   change_case:english_lowercase         {}   no uppercase letters, some lowercase
//   change_case:english_capital           {}   no lowercase letters, some uppercase
//   startend:start_checker                {start_phrase}  (Enclave) starts with, any case
//   startend:end_checker                  {end_phrase}    ends with, any case
//   startend:quotation                    {}   wrapped in double quotes
//   punctuation:no_comma                  {}   no ',' (nor fullwidth '，' / '、')
//   detectable_content:number_placeholders {num_placeholders}  at least N [placeholders]
//   detectable_content:postscript         {postscript_marker}
//   language:response_language            {language}  ISO 639-1 code; checked by the
//                                                     script of most letters (ko Hangul,
//                                                     en Latin, ...), not a language model
// relation is "less than" or "at least". Strict accuracy checks the response
// as is; loose accuracy also accepts it with the first and/or last line
// removed and/or '*' removed, as IFEval does.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace enclave::eval {

struct Instruction {
  std::string id;
  nlohmann::json kwargs = nlohmann::json::object();  // null values are treated as absent
};

// The supported instruction ids.
const std::vector<std::string_view>& instruction_ids();

// Checks id and kwargs. Throws Error(kInvalidInput) naming `what` for an
// unknown id, a missing or mistyped argument, or a bad relation or language.
void validate_instruction(const Instruction& instruction, std::string_view what);

// Whether response follows the instruction (strict). An empty or all-space
// response follows nothing. Validates first (same errors).
bool follows_strict(const Instruction& instruction, std::string_view response);
// IFEval's loose check: any of the eight response variants follows.
bool follows_loose(const Instruction& instruction, std::string_view response);

// The eight variants IFEval's loose check tries.
std::vector<std::string> loose_variants(std::string_view response);

// The instructions of a document in IFEval format. Throws Error(kInvalidInput)
// naming `what` if the lists are missing, of different lengths, or invalid.
std::vector<Instruction> instructions_of(const nlohmann::json& doc, std::string_view what);

}  // namespace enclave::eval
