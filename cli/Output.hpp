// Everything cacheman writes goes through here: data to stdout, messages to stderr.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cacheman::json {
class Writer;
} // namespace cacheman::json

namespace cacheman::cli {

// Writes bytes to stdout exactly as given (binary-safe).
// Writes to a file descriptor unbuffered, as bytes come (a running command's output, a value
// read piece by piece). A reader that went away (EPIPE) is not an error; any other write error
// stops the writing and is remembered.
class StreamSink {
  public:
    StreamSink(int fd, const char* name) : m_fd(fd), m_name(name) {}
    // Valid while this object lives.
    std::function<void(std::string_view)> sink() {
        return [this](std::string_view bytes) { write(bytes); };
    }
    // The one-line message for a write error other than a closed pipe, or "".
    [[nodiscard]] std::string failure() const;
    // The last byte written, if any.
    [[nodiscard]] std::optional<char> last() const { return m_last; }

  private:
    void write(std::string_view bytes);

    int m_fd;
    const char* m_name;
    int m_error = 0;
    std::optional<char> m_last;
};

void write_out(std::string_view bytes);
// Writes each item on a line of its own, or separated by NUL when `nul` is set.
void write_lines(const std::vector<std::string>& items, bool nul = false);
// Writes one JSON value and a newline: the whole stdout of a command run with --json.
void write_json(const json::Writer& json);
// Flushes stdout; false when writing failed (a full disk, a closed pipe).
bool flush_out();

bool stdout_is_terminal();
// Colour (and bold) only on a terminal, and never when NO_COLOR is set.
bool use_colour();

// The columns `text` (UTF-8) takes on a terminal: one per code point, two for East Asian wide
// and fullwidth ones, none for combining marks; a byte that is not valid UTF-8 takes one.
std::size_t display_width(std::string_view text);

// Rows of cells: aligned under a header on a terminal; tab-separated lines, no header, when piped.
void write_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);

// A progress bar on stderr for long imports and exports: drawn only when stderr is a terminal
// and the work is large, at most ten times a second, and erased when done. Drawing never throws
// (a bar that cannot be written is skipped), so neither does the destructor.
class ProgressBar {
  public:
    explicit ProgressBar(std::string label);
    ~ProgressBar();
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;
    void update(std::size_t done, std::size_t total);
    // Whether it can be drawn at all (stderr is a terminal): when not, no progress need be
    // counted for it.
    [[nodiscard]] bool enabled() const { return m_enabled; }

  private:
    std::string m_label;
    bool m_enabled;
    bool m_drawn = false;
    double m_last_draw = 0;
};

// "cacheman: error: <message>" on stderr.
void print_error(std::string_view message);
// "cacheman: <message>" on stderr, for -v notes.
void print_note(std::string_view message);

} // namespace cacheman::cli
