// Reads the export format (JSON Lines, one entry per line) one entry at a time, so that a batch
// can be written while it is read. Blank lines are skipped.
#pragma once

#include "jsonl/Json.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace cacheman::json {

// The lines of `data` (a last one without a newline counts), counted a block at a time, each
// released once counted.
std::size_t count_lines(std::string_view data, const Release& release = {});

class EntryReader {
  public:
    // `source_name` names the input in messages ("stdin", a file name, "builder output").
    // `release` is told how far the input has been read (see json::Release).
    EntryReader(std::string_view data, std::string source_name, Release release = {})
        : m_rest(data), m_source(std::move(source_name)), m_release(std::move(release)) {}

    // The next entry; false at the end. A malformed line throws
    // UsageError("malformed import line N: ... (SOURCE)").
    bool next(Entry& entry);
    [[nodiscard]] std::size_t entries_read() const { return m_entries; }

  private:
    // The end of the line that starts `m_rest`, telling `release` as it goes.
    std::size_t line_end() const;

    std::string_view m_rest;
    std::string m_source;
    Release m_release;
    std::size_t m_line = 0;
    std::size_t m_entries = 0;
};

} // namespace cacheman::json
