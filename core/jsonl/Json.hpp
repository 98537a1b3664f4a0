// The export format: reading its flat objects one line at a time, and writing them (with
// json::Writer, which every JSON output uses). Hand-written rather than a library so the
// binary links statically (see PERFORMANCE.md: dynamic loading costs more than the query).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace cacheman::json {

// One entry of the export format.
struct Entry {
    std::string key;
    std::string value;
    std::optional<double> expires; // unix seconds
};

// Parses one line of the export format. Throws UsageError saying what is wrong with it (the caller
// adds the line number). Unknown members are ignored so that newer exports still import.
Entry parse_entry(std::string_view line);

// Calls `on_entry` for each entry of `data` (the export format, one per line; blank lines are
// skipped). A malformed line throws UsageError("malformed import line N: ... (SOURCE)").
void parse_lines(std::string_view data, std::string_view source_name,
                 const std::function<void(Entry&)>& on_entry = {});

// Formats one entry as a line of the export format, without the newline, with json::Writer.
void append_entry(std::string& out, std::string_view key, std::string_view value,
                  std::optional<double> expires);

std::string base64_encode(std::string_view bytes);
// Throws UsageError when text is not canonical padded base64.
std::string base64_decode(std::string_view text);

} // namespace cacheman::json
