#include "Output.hpp"

#include "jsonl/Writer.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fmt/core.h>
#include <unistd.h>

namespace cacheman::cli {

void write_out(std::string_view bytes) {
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
}

void write_lines(const std::vector<std::string>& items, bool nul) {
    const char separator = nul ? '\0' : '\n';
    for (const auto& item : items) {
        write_out(item);
        std::fputc(separator, stdout);
    }
}

void write_json(const json::Writer& json) {
    write_out(json.text());
    std::fputc('\n', stdout);
}

bool flush_out() {
    return std::fflush(stdout) == 0 && std::ferror(stdout) == 0;
}

bool stdout_is_terminal() {
    return isatty(STDOUT_FILENO) == 1;
}

namespace {

// Messages quote user input (names, keys, paths); escape its control characters so that a
// message always stays on one line.
std::string one_line(std::string_view message) {
    std::string out;
    out.reserve(message.size());
    for (const char c : message) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (byte < 0x20 || byte == 0x7F) {
            out += fmt::format("\\x{:02x}", byte);
        } else {
            out += c;
        }
    }
    return out;
}

} // namespace

bool use_colour() {
    const char* no_colour = std::getenv("NO_COLOR");
    return stdout_is_terminal() && (no_colour == nullptr || *no_colour == '\0');
}

void write_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
    if (!stdout_is_terminal()) {
        for (const auto& row : rows) {
            std::string line;
            for (std::size_t i = 0; i < row.size(); ++i) {
                line += (i ? "\t" : "") + row[i];
            }
            write_out(line + "\n");
        }
        return;
    }
    std::vector<std::size_t> widths(header.size());
    for (std::size_t i = 0; i < header.size(); ++i) {
        widths[i] = header[i].size();
        for (const auto& row : rows) {
            widths[i] = std::max(widths[i], row[i].size());
        }
    }
    const auto line = [&](const std::vector<std::string>& cells) {
        std::string out;
        for (std::size_t i = 0; i < cells.size(); ++i) {
            out += i + 1 < cells.size() ? fmt::format("{:<{}}  ", cells[i], widths[i]) : cells[i];
        }
        return out + "\n";
    };
    write_out(use_colour() ? "\x1b[1m" + line(header) + "\x1b[0m" : line(header));
    for (const auto& row : rows) {
        write_out(line(row));
    }
}

ProgressBar::ProgressBar(std::string label)
    : m_label(std::move(label)), m_enabled(isatty(STDERR_FILENO) == 1) {}

ProgressBar::~ProgressBar() {
    if (m_drawn) {
        fmt::print(stderr, "\r\x1b[K");
        std::fflush(stderr);
    }
}

void ProgressBar::update(std::size_t done, std::size_t total) {
    constexpr std::size_t k_large = 50'000;
    if (!m_enabled || total < k_large) {
        return;
    }
    const double now =
        std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    if (m_drawn && now - m_last_draw < 0.1 && done < total) {
        return;
    }
    m_last_draw = now;
    m_drawn = true;
    constexpr int k_width = 30;
    const double fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
    const int filled = static_cast<int>(fraction * k_width);
    fmt::print(stderr, "\r{} [{}{}] {:3.0f}% {}/{}", m_label, std::string(filled, '#'),
               std::string(k_width - filled, '.'), fraction * 100, done, total);
    std::fflush(stderr);
}

namespace {
// Messages to stderr never throw: when stderr itself cannot be written (a full disk), there is
// nowhere left to say so, and the exit status still tells.
void write_message(std::string_view prefix, std::string_view message) {
    const std::string line = fmt::format("cacheman: {}{}\n", prefix, one_line(message));
    std::fwrite(line.data(), 1, line.size(), stderr);
}
} // namespace

void print_error(std::string_view message) {
    write_message("error: ", message);
}

void print_note(std::string_view message) {
    write_message("", message);
}

} // namespace cacheman::cli
