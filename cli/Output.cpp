#include "Output.hpp"

#include "Json.hpp"

#include <cstdio>
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

std::string json_array(const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) {
            out += ", ";
        }
        json::append_string(out, items[i]);
    }
    out += ']';
    return out;
}

bool flush_out() {
    return std::fflush(stdout) == 0 && std::ferror(stdout) == 0;
}

bool stdout_is_terminal() {
    return isatty(STDOUT_FILENO) == 1;
}

void print_error(std::string_view message) {
    fmt::print(stderr, "cacheman: error: {}\n", message);
}

void print_note(std::string_view message) {
    fmt::print(stderr, "cacheman: {}\n", message);
}

} // namespace cacheman::cli
