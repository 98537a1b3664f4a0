#include "jsonl/EntryReader.hpp"

#include "base/Error.hpp"

namespace cacheman::json {

namespace {
// How much of a line is searched for its end before the bytes searched are released.
constexpr std::size_t k_search_block = std::size_t{4} << 20;
} // namespace

std::size_t EntryReader::line_end() const {
    if (!m_release) {
        return m_rest.find('\n');
    }
    for (std::size_t from = 0; from < m_rest.size(); from += k_search_block) {
        const std::string_view block = m_rest.substr(from, k_search_block);
        const auto found = block.find('\n');
        if (found != std::string_view::npos) {
            return from + found;
        }
        m_release(block.data() + block.size());
    }
    return std::string_view::npos;
}

bool EntryReader::next(Entry& entry) {
    while (!m_rest.empty()) {
        const auto end = line_end();
        const std::string_view line = m_rest.substr(0, end);
        m_rest.remove_prefix(end == std::string_view::npos ? m_rest.size() : end + 1);
        ++m_line;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
            continue;
        }
        try {
            entry = parse_entry(line, m_release ? &m_release : nullptr);
        } catch (const UsageError& error) {
            throw UsageError("malformed import line " + std::to_string(m_line) + ": " +
                             error.what() + " (" + m_source + ")");
        }
        if (m_release) {
            m_release(line.data() + line.size());
        }
        ++m_entries;
        return true;
    }
    return false;
}

} // namespace cacheman::json
