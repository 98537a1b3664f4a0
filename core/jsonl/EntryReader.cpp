#include "jsonl/EntryReader.hpp"

#include "base/Error.hpp"

namespace cacheman::json {

bool EntryReader::next(Entry& entry) {
    while (!m_rest.empty()) {
        const auto end = m_rest.find('\n');
        const std::string_view line = m_rest.substr(0, end);
        m_rest.remove_prefix(end == std::string_view::npos ? m_rest.size() : end + 1);
        ++m_line;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
            continue;
        }
        try {
            entry = parse_entry(line);
        } catch (const UsageError& error) {
            throw UsageError("malformed import line " + std::to_string(m_line) + ": " +
                             error.what() + " (" + m_source + ")");
        }
        ++m_entries;
        return true;
    }
    return false;
}

} // namespace cacheman::json
