#include "jsonl/Writer.hpp"

#include "base/Names.hpp"

#include <array>
#include <charconv>
#include <cmath>

namespace cacheman::json {

namespace {

constexpr std::string_view k_hex = "0123456789abcdef";
constexpr std::string_view k_replacement = "\xEF\xBF\xBD"; // U+FFFD in UTF-8

// Below this many seconds, milliseconds are exact in a double (9e15 < 2^53).
constexpr double k_millisecond_limit = 9e12;

// Appends text (valid UTF-8) with the escapes a JSON string needs, quotes excluded.
void append_escaped(std::string& out, std::string_view text) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        out.append(text.substr(start, i - start));
        start = i + 1;
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        default:
            out += "\\u00";
            out += k_hex[c >> 4];
            out += k_hex[c & 0xF];
        }
    }
    out.append(text.substr(start));
}

// The shortest text that reads back as exactly `value` (finite).
void append_shortest(std::string& out, double value) {
    std::array<char, 32> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    out.append(buffer.data(), result.ptr);
}

} // namespace

void Writer::separate() {
    if (m_after_value) {
        m_out += ", ";
    }
    m_after_value = false;
}

Writer& Writer::begin_object() {
    separate();
    m_out += '{';
    return *this;
}

Writer& Writer::end_object() {
    m_out += '}';
    m_after_value = true;
    return *this;
}

Writer& Writer::begin_array() {
    separate();
    m_out += '[';
    return *this;
}

Writer& Writer::end_array() {
    m_out += ']';
    m_after_value = true;
    return *this;
}

Writer& Writer::key(std::string_view name) {
    string(name);
    m_out += ": ";
    m_after_value = false;
    return *this;
}

Writer& Writer::string(std::string_view text) {
    separate();
    m_out += '"';
    if (is_valid_utf8(text)) {
        append_escaped(m_out, text);
    } else {
        // Rare (argv bytes, a damaged store's messages): find each valid character by trying
        // the lengths a UTF-8 sequence can have.
        std::size_t i = 0;
        while (i < text.size()) {
            std::size_t length = 1;
            while (length <= 4 && !is_valid_utf8(text.substr(i, length))) {
                ++length;
            }
            if (length > 4) {
                m_out += k_replacement;
                ++i;
            } else {
                append_escaped(m_out, text.substr(i, length));
                i += length;
            }
        }
    }
    m_out += '"';
    m_after_value = true;
    return *this;
}

Writer& Writer::string_begin() {
    separate();
    m_out += '"';
    return *this;
}

Writer& Writer::string_piece(std::string_view piece) {
    append_escaped(m_out, piece); // byte by byte: a piece may split a character
    return *this;
}

Writer& Writer::string_end() {
    m_out += '"';
    m_after_value = true;
    return *this;
}

Writer& Writer::string_or_null(const std::optional<std::string>& text) {
    return text ? string(*text) : null();
}

Writer& Writer::strings(const std::vector<std::string>& items) {
    begin_array();
    for (const auto& item : items) {
        string(item);
    }
    return end_array();
}

Writer& Writer::integer(std::int64_t value) {
    separate();
    m_out += std::to_string(value);
    m_after_value = true;
    return *this;
}

Writer& Writer::boolean(bool value) {
    separate();
    m_out += value ? "true" : "false";
    m_after_value = true;
    return *this;
}

Writer& Writer::null() {
    separate();
    m_out += "null";
    m_after_value = true;
    return *this;
}

Writer& Writer::seconds(double value) {
    if (!std::isfinite(value)) {
        return null();
    }
    separate();
    m_after_value = true;
    if (std::fabs(value) >= k_millisecond_limit) {
        append_shortest(m_out, value);
        return *this;
    }
    std::int64_t millis = std::llround(value * 1000.0);
    if (millis < 0) {
        m_out += '-';
        millis = -millis;
    }
    m_out += std::to_string(millis / 1000);
    std::int64_t fraction = millis % 1000;
    if (fraction != 0) {
        std::array<char, 3> digits{};
        for (std::size_t i = digits.size(); i-- > 0;) {
            digits.at(i) = static_cast<char>('0' + fraction % 10);
            fraction /= 10;
        }
        std::string_view text(digits.data(), digits.size());
        while (text.back() == '0') {
            text.remove_suffix(1);
        }
        m_out += '.';
        m_out += text;
    }
    return *this;
}

Writer& Writer::seconds_or_null(const std::optional<double>& value) {
    return value ? seconds(*value) : null();
}

Writer& Writer::fixed(double value, int decimals) {
    if (!std::isfinite(value)) {
        return null();
    }
    separate();
    m_after_value = true;
    // Room for the 309 integer digits of the largest double and the decimals.
    std::array<char, 400> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                                      std::chars_format::fixed, decimals);
    if (result.ec != std::errc{}) {
        append_shortest(m_out, value);
    } else {
        m_out.append(buffer.data(), result.ptr);
    }
    return *this;
}

std::string Writer::take() {
    std::string out = std::move(m_out);
    m_out.clear();
    m_after_value = false;
    return out;
}

} // namespace cacheman::json
