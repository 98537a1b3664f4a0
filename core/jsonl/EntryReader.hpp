// Reads the export format (JSON Lines, one entry per line) one entry at a time, so that a batch
// can be written while it is read. Blank lines are skipped.
#pragma once

#include "jsonl/Json.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace cacheman::json {

class EntryReader {
  public:
    // `source_name` names the input in messages ("stdin", a file name, "builder output").
    EntryReader(std::string_view data, std::string source_name)
        : m_rest(data), m_source(std::move(source_name)) {}

    // The next entry; false at the end. A malformed line throws
    // UsageError("malformed import line N: ... (SOURCE)").
    bool next(Entry& entry);
    [[nodiscard]] std::size_t entries_read() const { return m_entries; }

  private:
    std::string_view m_rest;
    std::string m_source;
    std::size_t m_line = 0;
    std::size_t m_entries = 0;
};

} // namespace cacheman::json
