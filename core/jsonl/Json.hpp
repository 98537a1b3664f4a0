// The export format: reading its flat objects one line at a time, and writing them (with
// json::Writer, which every JSON output uses). Hand-written rather than a library so the
// binary links statically (see PERFORMANCE.md: dynamic loading costs more than the query).
#pragma once

#include "base/Spool.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace cacheman::json {

// The latest `expires` the export format carries: the last millisecond of year 9999 (UTC), in
// unix seconds. Every instant from 0 to this one, to the millisecond, is exact in a double and
// in the export's text, so an entry reads back exactly as it was written.
constexpr double k_latest_expires = 253402300799.999;

// A value longer than this is not held in memory while it is read: it is gathered in a Spool.
constexpr std::size_t k_largest_value_in_memory = std::size_t{1} << 20;

// One entry of the export format.
struct Entry {
    std::string key;
    std::string value;             // empty when the value is in `large`
    std::optional<double> expires; // unix seconds, a whole number of milliseconds
    std::shared_ptr<Spool> large;  // a value longer than k_largest_value_in_memory
};

// Told how far a reader has read its input (a pointer into it): the bytes before it are not
// read again, so a mapped input may give their memory back.
using Release = std::function<void(const char* read_up_to)>;

// Parses one line of the export format: one JSON object (RFC 8259) with "key" (a string),
// exactly one of "value" (a string) and "value_base64" (canonical padded base64), and optionally
// "expires" (a number or null). Throws UsageError saying what is wrong with it (the caller adds
// the line number): anything that is not such an object, with nothing but white space after it;
// a member known here given twice; a number with a leading zero ("01"); a control character or
// invalid UTF-8 in a string; a \u escape of a lone surrogate; a key that validate_key refuses; an
// "expires" below 0 or above k_latest_expires (not finite included). "expires" is rounded to the
// millisecond, the precision the export writes. Unknown members are ignored (their values must
// still be valid JSON) so that newer exports still import.
Entry parse_entry(std::string_view line, const Release* release = nullptr);

// Calls `on_entry` for each entry of `data` (the export format, one per line; blank lines are
// skipped). A malformed line throws UsageError("malformed import line N: ... (SOURCE)").
void parse_lines(std::string_view data, std::string_view source_name,
                 const std::function<void(Entry&)>& on_entry = {});

// Formats one entry as a line of the export format, without the newline, with json::Writer.
void append_entry(std::string& out, std::string_view key, std::string_view value,
                  std::optional<double> expires);

// The same for a value too large to hold whole: `read` hands it over in pieces (it is called
// twice: once to check whether it is UTF-8 text, once to write it), and `drain` is given the
// text of `out` whenever it has grown past `drain_at` bytes. The line's end is left in `out`.
using PieceSink = std::function<void(std::string_view)>;
using PieceReader = std::function<void(const PieceSink&)>;
void append_entry(std::string& out, std::string_view key, const PieceReader& read,
                  std::optional<double> expires, const PieceSink& drain, std::size_t drain_at);

std::string base64_encode(std::string_view bytes);
// Throws UsageError when text is not canonical padded base64 (RFC 4648): a length that is not a
// multiple of 4, a character outside the alphabet, padding anywhere but at the end, or padding
// bits that are not zero.
std::string base64_decode(std::string_view text);

// base64_decode for a text handed over in pieces of any size.
class Base64Decoder {
  public:
    // Decodes what it can of `piece` to `sink`. Throws UsageError as base64_decode does.
    void feed(std::string_view piece, const std::function<void(std::string_view)>& sink);
    // Decodes the last group. Throws UsageError when the text did not end as it must.
    void finish(const std::function<void(std::string_view)>& sink);

  private:
    void decode_group(std::string_view group, bool last, std::string& out);
    std::string m_carry; // the characters of groups not decoded yet (the last one stays)
};

} // namespace cacheman::json
