#include "jsonl/Json.hpp"

#include "jsonl/EntryReader.hpp"
#include "jsonl/Writer.hpp"

#include "base/Error.hpp"
#include "base/Names.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <cmath>
#include <cstdint>

namespace cacheman::json {

namespace {

constexpr std::string_view k_base64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// A cursor over one line; every failure is a UsageError describing the position.
class Reader {
  public:
    explicit Reader(std::string_view text, const Release* release = nullptr)
        : m_text(text), m_release(release) {}

    void skip_space() {
        while (m_pos < m_text.size() && (m_text[m_pos] == ' ' || m_text[m_pos] == '\t' ||
                                         m_text[m_pos] == '\r' || m_text[m_pos] == '\n')) {
            ++m_pos;
        }
    }
    [[nodiscard]] bool at_end() const { return m_pos >= m_text.size(); }
    [[nodiscard]] char peek() const { return at_end() ? '\0' : m_text[m_pos]; }

    void expect(char c) {
        skip_space();
        if (peek() != c) {
            fail(std::string("expected '") + c + "'");
        }
        ++m_pos;
    }
    bool consume(char c) {
        skip_space();
        if (peek() == c) {
            ++m_pos;
            return true;
        }
        return false;
    }

    std::string read_string() {
        std::string out;
        read_string_to([&out](std::string_view piece) { out.append(piece); });
        return out;
    }

    // Reads a string, handing its bytes to `sink` in pieces (plain text in runs of at most
    // k_plain_run, cut between characters; each escape decoded), so that a long string is
    // never held whole. Each run is checked to be UTF-8 (escapes make whole characters).
    void read_string_to(const std::function<void(std::string_view)>& sink) {
        skip_space();
        if (peek() != '"') {
            fail("expected a string");
        }
        ++m_pos;
        std::string escaped;
        while (true) {
            const std::size_t start = m_pos;
            const std::size_t limit = std::min(m_text.size(), start + k_plain_run);
            while (m_pos < limit && is_plain(m_text[m_pos])) {
                ++m_pos;
            }
            if (m_pos == limit && m_pos < m_text.size() && is_plain(m_text[m_pos])) {
                while (m_pos > start + 1 &&
                       (static_cast<unsigned char>(m_text[m_pos]) & 0xC0) == 0x80) {
                    --m_pos; // not inside a character
                }
                hand_over(start, sink);
                continue;
            }
            hand_over(start, sink);
            if (at_end()) {
                fail("unterminated string");
            }
            const char c = m_text[m_pos++];
            if (c == '"') {
                break;
            }
            if (c != '\\') {
                fail("control character in a string");
            }
            escaped.clear();
            read_escape(escaped);
            sink(escaped);
        }
    }

    // Checks the syntax of a number (RFC 8259) and returns its text.
    std::string_view scan_number() {
        skip_space();
        const std::size_t start = m_pos;
        if (peek() == '-') {
            ++m_pos;
        }
        const auto digits = [&] {
            const std::size_t from = m_pos;
            while (peek() >= '0' && peek() <= '9') {
                ++m_pos;
            }
            return m_pos - from;
        };
        const std::size_t integer_start = m_pos;
        const std::size_t integer_digits = digits();
        if (integer_digits == 0) {
            fail("expected a number");
        }
        if (integer_digits > 1 && m_text[integer_start] == '0') {
            m_pos = integer_start;
            fail("leading zero in a number");
        }
        if (peek() == '.') {
            ++m_pos;
            if (digits() == 0) {
                fail("malformed number");
            }
        }
        if (peek() == 'e' || peek() == 'E') {
            ++m_pos;
            if (peek() == '+' || peek() == '-') {
                ++m_pos;
            }
            if (digits() == 0) {
                fail("malformed number");
            }
        }
        return m_text.substr(start, m_pos - start);
    }

    double read_number() {
        const std::string_view text = scan_number();
        double value = 0;
        // from_chars, unlike strtod, ignores the locale.
        const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
        if (result.ec != std::errc{} || !std::isfinite(value)) {
            fail("number out of range");
        }
        return value;
    }

    bool read_literal(std::string_view word) {
        skip_space();
        if (m_text.substr(m_pos, word.size()) == word) {
            m_pos += word.size();
            return true;
        }
        return false;
    }

    // Skips any JSON value (for members this version does not know).
    void skip_value(int depth = 0) {
        if (depth > 64) {
            fail("nested too deeply");
        }
        skip_space();
        const char c = peek();
        if (c == '"') {
            read_string();
        } else if (c == '{' || c == '[') {
            const char close = c == '{' ? '}' : ']';
            ++m_pos;
            if (consume(close)) {
                return;
            }
            do {
                if (c == '{') {
                    read_string();
                    expect(':');
                }
                skip_value(depth + 1);
            } while (consume(','));
            expect(close);
        } else if (!read_literal("true") && !read_literal("false") && !read_literal("null")) {
            scan_number();
        }
    }

    [[noreturn]] void fail(const std::string& why) const { fail_at(m_pos, why); }
    [[noreturn]] static void fail_at(std::size_t pos, const std::string& why) {
        throw UsageError(why + " at column " + std::to_string(pos + 1));
    }
    [[nodiscard]] std::size_t position() const { return m_pos; }

  private:
    static constexpr std::size_t k_plain_run = std::size_t{4} << 20;

    static bool is_plain(char c) {
        return c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20;
    }

    // Checks and hands over the plain text from `start` to the cursor.
    void hand_over(std::size_t start, const std::function<void(std::string_view)>& sink) {
        const std::string_view run = m_text.substr(start, m_pos - start);
        if (run.empty()) {
            return;
        }
        if (!is_valid_utf8(run)) {
            fail("string is not valid UTF-8");
        }
        sink(run);
        if (m_release != nullptr) {
            (*m_release)(run.data() + run.size());
        }
    }

    unsigned read_hex4() {
        if (m_pos + 4 > m_text.size()) {
            fail("truncated \\u escape");
        }
        unsigned value = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = m_text[m_pos++];
            unsigned digit = 0;
            if (c >= '0' && c <= '9') {
                digit = static_cast<unsigned>(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                digit = static_cast<unsigned>(c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                digit = static_cast<unsigned>(c - 'A' + 10);
            } else {
                fail("bad \\u escape");
            }
            value = value * 16 + digit;
        }
        return value;
    }

    void read_escape(std::string& out) {
        if (at_end()) {
            fail("unterminated escape");
        }
        const char c = m_text[m_pos++];
        switch (c) {
        case '"':
            out += '"';
            return;
        case '\\':
            out += '\\';
            return;
        case '/':
            out += '/';
            return;
        case 'b':
            out += '\b';
            return;
        case 'f':
            out += '\f';
            return;
        case 'n':
            out += '\n';
            return;
        case 'r':
            out += '\r';
            return;
        case 't':
            out += '\t';
            return;
        case 'u':
            break;
        default:
            fail("bad escape");
        }
        std::uint32_t code = read_hex4();
        if (code >= 0xD800 && code <= 0xDBFF) {
            if (m_text.substr(m_pos, 2) != "\\u") {
                fail("unpaired surrogate");
            }
            m_pos += 2;
            const unsigned low = read_hex4();
            if (low < 0xDC00 || low > 0xDFFF) {
                fail("unpaired surrogate");
            }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
        } else if (code >= 0xDC00 && code <= 0xDFFF) {
            fail("unpaired surrogate");
        }
        append_utf8(out, code);
    }

    static void append_utf8(std::string& out, std::uint32_t code) {
        if (code < 0x80) {
            out += static_cast<char>(code);
        } else if (code < 0x800) {
            out += static_cast<char>(0xC0 | (code >> 6));
            out += static_cast<char>(0x80 | (code & 0x3F));
        } else if (code < 0x10000) {
            out += static_cast<char>(0xE0 | (code >> 12));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (code >> 18));
            out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
        }
    }

    std::string_view m_text;
    const Release* m_release;
    std::size_t m_pos = 0;
};

// A value as it is read: in memory while it is short, else in a Spool.
class ValueBuilder {
  public:
    void append(std::string_view piece) {
        if (!m_large && m_small.size() + piece.size() <= k_largest_value_in_memory) {
            m_small.append(piece);
            return;
        }
        if (!m_large) {
            m_large = std::make_shared<Spool>(0);
            m_large->append(m_small);
            std::string().swap(m_small);
        }
        m_large->append(piece);
    }
    void finish(Entry& entry) {
        entry.value = std::move(m_small);
        entry.large = std::move(m_large);
    }

  private:
    std::string m_small;
    std::shared_ptr<Spool> m_large;
};

int base64_digit(char c) {
    const auto found = k_base64.find(c);
    return found == std::string_view::npos ? -1 : static_cast<int>(found);
}

// An expiry the store and the export hold exactly: from 0 to k_latest_expires, rounded to the
// millisecond (the export's precision), so that export writes back what was read.
double read_expires(Reader& reader) {
    reader.skip_space();
    const std::size_t start = reader.position();
    const double seconds = reader.read_number();
    if (!(seconds >= 0 && seconds <= k_latest_expires)) {
        Reader::fail_at(
            start, "\"expires\" is not between 0 and 253402300799.999 (unix seconds up to the end "
                   "of year 9999)");
    }
    return static_cast<double>(std::llround(seconds * 1000.0)) / 1000.0;
}

} // namespace

Entry parse_entry(std::string_view line, const Release* release) {
    Reader reader(line, release);
    Entry entry;
    bool have_key = false;
    bool have_value = false;
    bool have_expires = false;
    reader.expect('{');
    if (!reader.consume('}')) {
        do {
            const std::string member = reader.read_string();
            reader.expect(':');
            const auto once = [&](bool& seen) {
                if (seen) {
                    reader.fail("\"" + member + "\" given twice");
                }
                seen = true;
            };
            if (member == "key") {
                once(have_key);
                entry.key = reader.read_string();
            } else if (member == "value" || member == "value_base64") {
                if (have_value) {
                    reader.fail("more than one of \"value\" and \"value_base64\"");
                }
                have_value = true;
                ValueBuilder value;
                const auto append = [&value](std::string_view piece) { value.append(piece); };
                if (member == "value") {
                    reader.read_string_to(append);
                } else {
                    Base64Decoder decoder;
                    reader.read_string_to(
                        [&](std::string_view piece) { decoder.feed(piece, append); });
                    decoder.finish(append);
                }
                value.finish(entry);
            } else if (member == "expires") {
                once(have_expires);
                if (!reader.read_literal("null")) {
                    entry.expires = read_expires(reader);
                }
            } else {
                reader.skip_value();
            }
        } while (reader.consume(','));
        reader.expect('}');
    }
    reader.skip_space();
    if (!reader.at_end()) {
        reader.fail("trailing characters after the object");
    }
    if (!have_key) {
        throw UsageError("missing \"key\"");
    }
    if (!have_value) {
        throw UsageError("missing \"value\" or \"value_base64\"");
    }
    validate_key(entry.key);
    return entry;
}

void parse_lines(std::string_view data, std::string_view source_name,
                 const std::function<void(Entry&)>& on_entry) {
    EntryReader reader(data, std::string(source_name));
    Entry entry;
    while (reader.next(entry)) {
        if (on_entry) {
            on_entry(entry);
        }
    }
}

namespace {

// Where the last, possibly incomplete, UTF-8 sequence of `bytes` starts: bytes.size() when the
// bytes end on a character boundary (as far as the lead bytes say).
std::size_t incomplete_tail(std::string_view bytes) {
    for (std::size_t back = 1; back <= 3 && back <= bytes.size(); ++back) {
        const auto c = static_cast<unsigned char>(bytes[bytes.size() - back]);
        if ((c & 0xC0) == 0x80) {
            continue; // a continuation byte: look further back for its lead
        }
        const std::size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        return length > back ? bytes.size() - back : bytes.size();
    }
    return bytes.size();
}

// `piece` after what `carry` holds from the one before (joined in `joined` only when needed).
std::string_view after_carry(const std::string& carry, std::string_view piece, std::string& joined) {
    if (carry.empty()) {
        return piece;
    }
    joined = carry;
    joined.append(piece);
    return joined;
}

bool pieces_are_valid_utf8(const PieceReader& read) {
    bool valid = true;
    std::string carry; // an incomplete character at the end of the previous piece
    read([&](std::string_view piece) {
        if (!valid) {
            return;
        }
        std::string joined;
        piece = after_carry(carry, piece, joined);
        const std::size_t cut = incomplete_tail(piece);
        valid = is_valid_utf8(piece.substr(0, cut));
        carry.assign(piece.substr(cut));
    });
    return valid && carry.empty();
}

// Base64 of the pieces, in pieces: whole groups of three bytes as they come, the rest at the end.
void base64_pieces(const PieceReader& read, const PieceSink& encoded) {
    std::string carry;
    read([&](std::string_view piece) {
        std::string joined;
        piece = after_carry(carry, piece, joined);
        const std::size_t whole = piece.size() / 3 * 3;
        encoded(base64_encode(piece.substr(0, whole)));
        carry.assign(piece.substr(whole));
    });
    encoded(base64_encode(carry));
}

} // namespace

void append_entry(std::string& out, std::string_view key, const PieceReader& read,
                  std::optional<double> expires, const PieceSink& drain, std::size_t drain_at) {
    Writer writer(std::move(out));
    writer.begin_object().key("key").string(key);
    const auto write_piece = [&](std::string_view piece) {
        writer.string_piece(piece);
        if (writer.text().size() >= drain_at) {
            writer.drain(drain);
        }
    };
    if (pieces_are_valid_utf8(read)) {
        writer.key("value").string_begin();
        read(write_piece);
    } else {
        writer.key("value_base64").string_begin();
        base64_pieces(read, write_piece);
    }
    writer.string_end();
    if (expires) {
        writer.key("expires").seconds(*expires);
    }
    out = writer.end_object().take();
}

void append_entry(std::string& out, std::string_view key, std::string_view value,
                  std::optional<double> expires) {
    append_entry(
        out, key, [value](const PieceSink& sink) { sink(value); }, expires,
        [](std::string_view) {}, std::numeric_limits<std::size_t>::max());
}

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    const auto at = [&](std::size_t k) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k]));
    };
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t n = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
        out += k_base64[(n >> 18) & 63];
        out += k_base64[(n >> 12) & 63];
        out += k_base64[(n >> 6) & 63];
        out += k_base64[n & 63];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest > 0) {
        const std::uint32_t n = (at(i) << 16) | (rest == 2 ? at(i + 1) << 8 : 0);
        out += k_base64[(n >> 18) & 63];
        out += k_base64[(n >> 12) & 63];
        out += rest == 2 ? k_base64[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::string base64_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size() / 4 * 3);
    const auto append = [&out](std::string_view piece) { out.append(piece); };
    Base64Decoder decoder;
    decoder.feed(text, append);
    decoder.finish(append);
    return out;
}

void Base64Decoder::feed(std::string_view piece,
                         const std::function<void(std::string_view)>& sink) {
    // The text so far is the carry, then the piece: every complete group of it but the last
    // (which may be the padded end) is decoded. Only the groups that start in the carry (at
    // most 7 characters) are joined; the rest is decoded from the piece where it is.
    const std::size_t carried = m_carry.size();
    const std::size_t total = carried + piece.size();
    const std::size_t decodable = total >= 4 ? (total / 4 - 1) * 4 : 0;
    const std::size_t joined_size = std::min(decodable, (carried + 3) / 4 * 4);
    std::string out;
    out.reserve(decodable / 4 * 3);
    if (joined_size > 0) {
        std::string joined = m_carry.substr(0, joined_size);
        joined.append(piece.substr(0, joined_size - joined.size()));
        for (std::size_t i = 0; i < joined_size; i += 4) {
            decode_group(std::string_view(joined).substr(i, 4), false, out);
        }
    }
    for (std::size_t i = joined_size; i < decodable; i += 4) {
        decode_group(piece.substr(i - carried, 4), false, out);
    }
    if (decodable >= carried) {
        m_carry.assign(piece.substr(decodable - carried));
    } else {
        m_carry.erase(0, decodable);
        m_carry.append(piece);
    }
    if (!out.empty()) {
        sink(out);
    }
}

void Base64Decoder::finish(const std::function<void(std::string_view)>& sink) {
    if (m_carry.size() % 4 != 0) {
        throw UsageError("invalid base64 in \"value_base64\": length is not a multiple of 4");
    }
    std::string out;
    if (!m_carry.empty()) {
        decode_group(m_carry, true, out); // feed() keeps at most one group and a partial one
    }
    m_carry.clear();
    if (!out.empty()) {
        sink(out);
    }
}

void Base64Decoder::decode_group(std::string_view group, bool last, std::string& out) {
    int pad = 0;
    if (last && group[3] == '=') {
        pad = group[2] == '=' ? 2 : 1;
    }
    std::uint32_t n = 0;
    for (std::size_t k = 0; k < 4; ++k) {
        const bool padding = k >= 4 - static_cast<std::size_t>(pad);
        const int digit = padding ? 0 : base64_digit(group[k]);
        if (digit < 0) {
            throw UsageError("invalid base64 in \"value_base64\"");
        }
        n = (n << 6) | static_cast<std::uint32_t>(digit);
    }
    // The bits after the last byte must be zero, or two texts would decode to the same bytes.
    const std::uint32_t unused = pad == 2 ? 0xFFFF : pad == 1 ? 0xFF : 0;
    if ((n & unused) != 0) {
        throw UsageError("invalid base64 in \"value_base64\": padding bits are not zero");
    }
    out += static_cast<char>((n >> 16) & 0xFF);
    if (pad < 2) {
        out += static_cast<char>((n >> 8) & 0xFF);
    }
    if (pad < 1) {
        out += static_cast<char>(n & 0xFF);
    }
}

} // namespace cacheman::json
