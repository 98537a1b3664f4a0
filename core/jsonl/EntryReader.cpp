#include "jsonl/EntryReader.hpp"

#include "base/Error.hpp"

#include <algorithm>

namespace cacheman::json {

namespace {

// Hands `data` to `visit(offset, block)` a block of 4 MiB at a time, releasing each block it
// has visited, until `visit` returns true.
template <class Visit> void in_blocks(std::string_view data, const Release& release, Visit visit) {
    constexpr std::size_t k_block = std::size_t{4} << 20;
    for (std::size_t from = 0; from < data.size(); from += k_block) {
        const std::string_view block = data.substr(from, k_block);
        if (visit(from, block)) {
            return;
        }
        if (release) {
            release(block.data() + block.size());
        }
    }
}

} // namespace

std::size_t count_lines(std::string_view data, const Release& release) {
    std::size_t lines = 0;
    in_blocks(data, release, [&lines](std::size_t, std::string_view block) {
        lines += static_cast<std::size_t>(std::count(block.begin(), block.end(), '\n'));
        return false;
    });
    return lines + (data.empty() || data.back() == '\n' ? 0 : 1);
}

std::size_t EntryReader::line_end() const {
    auto end = std::string_view::npos;
    in_blocks(m_rest, m_release, [&end](std::size_t from, std::string_view block) {
        const auto found = block.find('\n');
        end = found == std::string_view::npos ? found : from + found;
        return found != std::string_view::npos;
    });
    return end;
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
