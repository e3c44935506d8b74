// Loads a scenario file: parses YAML, applies --set overrides, validates every
// key, value and reference, and returns the description. Errors are
// input_error with FILE:LINE:COL; unknown keys name the nearest valid one.
#pragma once
#include <string>
#include <vector>

#include "platform/description.h"

namespace iotwin::platform {

// `overrides` are "dotted.path=value" strings (iotwin run --set).
scenario load_scenario(const std::string& file, const std::vector<std::string>& overrides = {});

// Parsers shared with the step interpreter. They throw input_error at `pos`.
std::uint64_t parse_integer(const std::string& text, const source_pos& pos);
std::uint64_t parse_size(const std::string& text, const source_pos& pos);
sc_core::sc_time parse_time(const std::string& text, const source_pos& pos);
std::vector<std::uint8_t> parse_data(const YAML::Node& node, const source_pos& pos);
source_pos pos_of(const YAML::Node& node, const std::string& file);
// The candidate closest to `word` by edit distance, or "" when none is close.
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);
// " (did you mean 'X'?)" for the nearest candidate, or "".
std::string suggestion(const std::string& word, const std::vector<std::string>& candidates);
// Input text quoted in a message: in single quotes, short and escaped (excerpt()).
std::string quote_input(const std::string& text);

} // namespace iotwin::platform
