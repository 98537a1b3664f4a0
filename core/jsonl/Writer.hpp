// The one JSON writer: every `--json` output and every line of the export format is built with
// it, so the layout (", " between items, ": " after a key, all on one line) and the escaping are
// the same everywhere, and the output is always valid JSON (RFC 8259).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cacheman::json {

// Builds JSON text in a string. The caller opens and closes objects and arrays and gives each
// member's key before its value; the writer places the commas. It does not check the nesting:
// a key outside an object or an unclosed array is the caller's bug.
class Writer {
  public:
    Writer() = default;
    // Appends to `buffer`, which may already hold text (earlier lines); take() gives it back.
    explicit Writer(std::string buffer) : m_out(std::move(buffer)) {}

    Writer& begin_object();
    Writer& end_object();
    Writer& begin_array();
    Writer& end_array();
    // The next value is the member `name` of the enclosing object.
    Writer& key(std::string_view name);

    // A string literal. Control characters, '"' and '\' are escaped; other characters, non-ASCII
    // included, are written as they are. Bytes that are not valid UTF-8 are each written as
    // U+FFFD (the replacement character), so the output is valid JSON whatever the input.
    Writer& string(std::string_view text);
    // A string literal given in pieces, for text too large to hold whole: string_begin, then
    // string_piece for each piece (escaped as by string; the pieces together must be valid
    // UTF-8, though one may end in the middle of a character), then string_end.
    Writer& string_begin();
    Writer& string_piece(std::string_view piece);
    Writer& string_end();
    // The string, or null when there is none.
    Writer& string_or_null(const std::optional<std::string>& text);
    // An array of strings.
    Writer& strings(const std::vector<std::string>& items);
    // Exactly the integer.
    Writer& integer(std::int64_t value);
    Writer& boolean(bool value);
    Writer& null();
    // A number of seconds rounded to the millisecond, without trailing zeros ("12", "12.5",
    // "-0.25"). A value too large for that (beyond 9e12 seconds, some 285,000 years) is written
    // exactly in the shortest form that reads back as the same double ("1e+300"); one that is
    // not finite, which JSON cannot represent, as null.
    Writer& seconds(double value);
    // The seconds, or null when there are none.
    Writer& seconds_or_null(const std::optional<double>& value);
    // A number with exactly `decimals` digits after the point ("0.120"), correctly rounded;
    // null when not finite.
    Writer& fixed(double value, int decimals);

    [[nodiscard]] const std::string& text() const { return m_out; }
    // Hands the text written so far to `sink` and forgets it; writing goes on where it was.
    template <typename Sink> void drain(Sink&& sink) {
        sink(std::string_view(m_out));
        m_out.clear();
    }
    // The text written so far; the writer is left empty.
    std::string take();

  private:
    // Writes the comma that separates this value from the previous one, if any.
    void separate();

    std::string m_out;
    bool m_after_value = false;
};

} // namespace cacheman::json
