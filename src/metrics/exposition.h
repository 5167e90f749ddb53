// Pieces of the Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): pure
// functions, tested on literal strings.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crid::metrics {

// The Content-Type a scraper expects for this format.
inline constexpr const char* kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

// HELP text: backslash and newline escaped.
std::string escape_help(std::string_view text);
// Label values: backslash, double quote and newline escaped.
std::string escape_label_value(std::string_view text);
// A sample value: integers without a fraction, others round-trip exact,
// and +Inf, -Inf, NaN spelled as the format wants.
std::string format_value(double v);

using LabelPairs = std::vector<std::pair<std::string, std::string>>;
// `{a="x",b="y"}`, or "" without labels.
std::string format_labels(const LabelPairs& labels);

// Whether `name` is a valid metric or label name ([a-zA-Z_:][a-zA-Z0-9_:]*;
// label names may not contain ':').
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

}  // namespace crid::metrics
