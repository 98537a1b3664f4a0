#include "base/Error.hpp"
#include "jsonl/Json.hpp"
#include "jsonl/Writer.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>

using namespace cacheman;

namespace {

std::string quote(std::string_view text) {
    return json::Writer().string(text).take();
}

std::string seconds(double value) {
    return json::Writer().seconds(value).take();
}

// The expiry a line reads back as.
std::optional<double> expires_of(const std::string& expires_text) {
    return json::parse_entry(R"({"key": "k", "value": "v", "expires": )" + expires_text + "}")
        .expires;
}

} // namespace

TEST_CASE("strings are escaped as JSON requires", "[json]") {
    CHECK(quote("plain") == "\"plain\"");
    CHECK(quote("") == "\"\"");
    CHECK(quote("a\"b\\c/") == R"("a\"b\\c/")");
    CHECK(quote("\n\r\t\b\f") == R"("\n\r\t\b\f")");
    CHECK(quote(std::string("\x00\x01\x1b\x1f", 4)) == R"("\u0000\u0001\u001b\u001f")");
    // DEL needs no escape in JSON, and non-ASCII characters are written as they are.
    CHECK(quote("\x7f") == "\"\x7f\"");
    CHECK(quote("caf\xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x98\x80") ==
          "\"caf\xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x98\x80\"");
}

TEST_CASE("bytes that are not UTF-8 are written as U+FFFD, so the output stays valid", "[json]") {
    const std::string replacement = "\xEF\xBF\xBD";
    CHECK(quote("a\xFF"
                "b") == "\"a" + replacement + "b\"");
    CHECK(quote("\xC3") == "\"" + replacement + "\"");                   // truncated sequence
    CHECK(quote("\xE6\x97") == "\"" + replacement + replacement + "\""); // one per byte
    CHECK(quote("\xC0\xAF") == "\"" + replacement + replacement + "\""); // overlong '/'
    CHECK(quote("\xED\xA0\x80") ==
          "\"" + replacement + replacement + replacement + "\""); // surrogate
    // Valid characters and escapes around the bad byte are kept.
    CHECK(quote("\xC3\xA9\x80\n\xF0\x9F\x98\x80") ==
          "\"\xC3\xA9" + replacement + "\\n\xF0\x9F\x98\x80\"");
}

TEST_CASE("the writer places the commas and the layout is one line", "[json]") {
    json::Writer out;
    out.begin_object()
        .key("name")
        .string("c")
        .key("list")
        .strings({"a", "b"})
        .key("empty")
        .strings({})
        .key("nested")
        .begin_array()
        .begin_object()
        .end_object()
        .strings({"x"})
        .null()
        .boolean(true)
        .boolean(false)
        .end_array()
        .key("n")
        .integer(-3)
        .key("s")
        .string_or_null(std::nullopt)
        .key("t")
        .seconds_or_null(std::nullopt)
        .end_object();
    CHECK(out.text() ==
          R"({"name": "c", "list": ["a", "b"], "empty": [], )"
          R"("nested": [{}, ["x"], null, true, false], "n": -3, "s": null, "t": null})");
    CHECK(out.take().size() > 2);
    CHECK(out.text().empty());
    CHECK(out.strings({"again"}).text() == R"(["again"])");
}

TEST_CASE("integers are written exactly, to the edges of int64", "[json]") {
    const auto text = [](std::int64_t value) { return json::Writer().integer(value).take(); };
    CHECK(text(0) == "0");
    CHECK(text(-1) == "-1");
    CHECK(text(std::numeric_limits<std::int64_t>::max()) == "9223372036854775807");
    CHECK(text(std::numeric_limits<std::int64_t>::min()) == "-9223372036854775808");
}

TEST_CASE("seconds print to the millisecond without trailing zeros", "[json]") {
    CHECK(seconds(1700000000.0) == "1700000000");
    CHECK(seconds(1700000000.25) == "1700000000.25");
    CHECK(seconds(1795748279.346) == "1795748279.346");
    CHECK(seconds(12.0004) == "12");
    CHECK(seconds(0.001) == "0.001");
    CHECK(seconds(0) == "0");
    CHECK(seconds(-0.0) == "0");
    CHECK(seconds(-1.5) == "-1.5");
    CHECK(seconds(-0.25) == "-0.25");
    CHECK(seconds(-0.0004) == "0");
    CHECK(seconds(json::k_latest_expires) == "253402300799.999");
}

TEST_CASE("seconds beyond milliseconds are exact, and what JSON cannot hold is null", "[json]") {
    // Once garbage like "-9223372036854775.(0(": every double reads back as itself.
    for (const double value :
         {1e300, -1e300, 9e12, -9e12, 1.5e13, 9.223372036854775e18,
          std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest()}) {
        INFO(value);
        const std::string text = seconds(value);
        CHECK(text.find_first_not_of("0123456789.e+-") == std::string::npos);
        CHECK(std::strtod(text.c_str(), nullptr) == value);
    }
    CHECK(seconds(1e300) == "1e+300");
    CHECK(seconds(std::numeric_limits<double>::infinity()) == "null");
    CHECK(seconds(-std::numeric_limits<double>::infinity()) == "null");
    CHECK(seconds(std::numeric_limits<double>::quiet_NaN()) == "null");
    CHECK(json::Writer().begin_array().seconds(NAN).seconds(1).end_array().text() == "[null, 1]");
}

TEST_CASE("fixed decimals are correctly rounded", "[json]") {
    const auto text = [](double value) { return json::Writer().fixed(value, 3).take(); };
    CHECK(text(0.12) == "0.120");
    CHECK(text(2) == "2.000");
    CHECK(text(0.0004) == "0.000");
    CHECK(text(1.2346) == "1.235");
    CHECK(text(1e20) == "100000000000000000000.000");
    CHECK(text(std::numeric_limits<double>::infinity()) == "null");
    CHECK(text(NAN) == "null");
}

TEST_CASE("export lines round-trip through the parser", "[json]") {
    const std::string binary("\x00\xFF\xFE text", 8);
    for (const auto& value :
         {std::string("v"), std::string("multi\nline \"q\""), binary, std::string()}) {
        std::string line;
        json::append_entry(line, "k\ney", value, 1700000000.5);
        const auto entry = json::parse_entry(line);
        CHECK(entry.key == "k\ney");
        CHECK(entry.value == value);
        REQUIRE(entry.expires);
        CHECK(*entry.expires == 1700000000.5);
    }
    std::string line;
    json::append_entry(line, "k", binary, std::nullopt);
    CHECK(line.find("value_base64") != std::string::npos);
    CHECK(line.find("expires") == std::string::npos);
}

TEST_CASE("append_entry appends to what the buffer holds", "[json]") {
    std::string out = "before\n";
    json::append_entry(out, "k", "v", 2.5);
    CHECK(out == "before\n{\"key\": \"k\", \"value\": \"v\", \"expires\": 2.5}");
}

TEST_CASE("every expiry the parser accepts is written back exactly", "[json]") {
    const auto latest_ms = static_cast<std::int64_t>(std::llround(json::k_latest_expires * 1000));
    CHECK(latest_ms == 253402300799999);
    for (const std::int64_t ms :
         {std::int64_t{0}, std::int64_t{1}, std::int64_t{999}, std::int64_t{1795748279346},
          std::int64_t{4102444800001}, latest_ms - 1, latest_ms}) {
        INFO(ms);
        const double expires = static_cast<double>(ms) / 1000.0;
        std::string line;
        json::append_entry(line, "k", "v", expires);
        const auto entry = json::parse_entry(line);
        REQUIRE(entry.expires);
        CHECK(*entry.expires == expires);
        std::string again;
        json::append_entry(again, "k", "v", entry.expires);
        CHECK(again == line);
    }
}

TEST_CASE("expires is read to the millisecond, within 0 and the end of year 9999", "[json]") {
    CHECK(expires_of("1.0004") == 1.0);
    CHECK(expires_of("1.0006") == 1.001);
    CHECK(expires_of("1e3") == 1000.0);
    CHECK(expires_of("0") == 0.0);
    CHECK(expires_of("-0") == 0.0);
    CHECK(expires_of("253402300799.999") == json::k_latest_expires);
    CHECK(expires_of("null") == std::nullopt);
    for (const char* bad : {"1e300", "-1e300", "1e400", "-1", "-0.001", "253402300800",
                            "253402300799.9995", "9223372036854775807", "1e-400"}) {
        INFO(bad);
        CHECK_THROWS_AS(expires_of(bad), UsageError);
    }
    CHECK_THROWS_WITH(expires_of("1e300"), Catch::Contains("\"expires\" is not between 0 and "
                                                           "253402300799.999"));
}

TEST_CASE("the export format is exactly as the contract writes it", "[json]") {
    std::string line;
    json::append_entry(line, "k", "v", std::nullopt);
    CHECK(line == R"({"key": "k", "value": "v"})");
    line.clear();
    json::append_entry(line, "b", std::string("\xFF\x00", 2), 4102444800.25);
    CHECK(line == std::string(R"({"key": "b", "value_base64": "/wA=", "expires": 4102444800.25})"));
}

TEST_CASE("entries parse with escapes, surrogate pairs, unknown members", "[json]") {
    auto entry =
        json::parse_entry(R"( {"value":"\u00e9\ud83d\ude00\/","key":"k","extra":[1,{"a":null}]} )");
    CHECK(entry.key == "k");
    CHECK(entry.value == "\xC3\xA9\xF0\x9F\x98\x80/");
    CHECK_FALSE(entry.expires);
    entry = json::parse_entry(R"({"key": "k", "value_base64": "AP8=", "expires": null})");
    CHECK(entry.value == std::string("\x00\xFF", 2));
    // Unknown members may repeat and hold any valid JSON, numbers out of a double's range too.
    entry = json::parse_entry(
        R"({"key": "k", "x": 1e400, "x": -0.5E-3, "y": [true, false, null, 0, -0, 10], "value": ""})");
    CHECK(entry.value.empty());
    entry = json::parse_entry("{\"key\": \"k\", \"value\": \"\\u0000\x7f\"}\r");
    CHECK(entry.value == std::string("\0\x7f", 2));
}

TEST_CASE("malformed entries are refused with a reason", "[json]") {
    for (const char* bad :
         {"", "[]", "{", R"({"key": "k"})", R"({"value": "v"})", R"({"key": 1, "value": "v"})",
          R"({"key": "k", "value": 5})", R"({"key": "k", "value": "v", "value_base64": "dg=="})",
          R"({"key": "k", "key": "j", "value": "v"})", R"({"key": "k", "value": "v"} x)",
          R"({"key": "k", "value": "\x"})", R"({"key": "k", "value": "\ud800"})",
          R"({"key": "k", "value": "\u12G4"})", R"({"key": "k", "value_base64": "abc"})",
          R"({"key": "k", "value_base64": "a=bc"})",
          R"({"key": "k", "value": "v", "expires": "x"})", R"({"key": "k\u0000", "value": "v"})",
          "{\"key\": \"k\", \"value\": \"a\tb\"}", "{\"key\": \"\xFF\", \"value\": \"v\"}"}) {
        INFO(bad);
        CHECK_THROWS_AS(json::parse_entry(bad), UsageError);
    }
}

TEST_CASE("numbers with a leading zero are refused, wherever they are", "[json]") {
    for (const char* number : {"01", "-01", "00", "00.5", "012e3", "-00"}) {
        INFO(number);
        CHECK_THROWS_WITH(expires_of(number), Catch::Contains("leading zero"));
        CHECK_THROWS_AS(
            json::parse_entry(std::string(R"({"key": "k", "value": "v", "x": [)") + number + "]}"),
            UsageError);
    }
    for (const char* bad : {"1.", ".5", "+1", "-", "1e", "1e+", "0x10", "Infinity", "NaN", "1_0"}) {
        INFO(bad);
        CHECK_THROWS_AS(expires_of(bad), UsageError);
    }
    CHECK(expires_of("0.5") == 0.5);
    CHECK(expires_of("10") == 10.0);
}

TEST_CASE("a member given twice is refused", "[json]") {
    for (const char* bad : {R"({"key": "k", "key": "k", "value": "v"})",
                            R"({"key": "k", "value": "v", "value": "v"})",
                            R"({"key": "k", "value_base64": "dg==", "value_base64": "dg=="})",
                            R"({"key": "k", "value": "v", "expires": 1, "expires": 1})",
                            R"({"key": "k", "value": "v", "expires": null, "expires": null})"}) {
        INFO(bad);
        CHECK_THROWS_AS(json::parse_entry(bad), UsageError);
    }
}

TEST_CASE("control characters and invalid UTF-8 in strings are refused", "[json]") {
    for (const std::string& raw :
         {std::string(1, '\0'), std::string("\x01"), std::string("\n"), std::string("\x1f"),
          std::string("\xC3"), std::string("\xED\xA0\x80"), std::string("\xC0\xAF")}) {
        INFO(raw);
        CHECK_THROWS_AS(json::parse_entry("{\"key\": \"k\", \"value\": \"" + raw + "\"}"),
                        UsageError);
        CHECK_THROWS_AS(
            json::parse_entry("{\"key\": \"k\", \"value\": \"v\", \"x\": \"" + raw + "\"}"),
            UsageError);
    }
}

TEST_CASE("lone surrogates in \\u escapes are refused", "[json]") {
    for (const char* escape :
         {R"(\ud800)", R"(\udbff)", R"(\udc00)", R"(\udfff)", R"(\ud800\u0041)", R"(\ud800\ud800)",
          R"(\ud800x)", R"(\ude00\ud83d)", R"(\ud83d\\ude00)"}) {
        INFO(escape);
        CHECK_THROWS_WITH(
            json::parse_entry(std::string(R"({"key": "k", "value": ")") + escape + "\"}"),
            Catch::Contains("surrogate"));
    }
    CHECK(json::parse_entry(R"({"key": "k", "value": "\uD83D\uDE00"})").value ==
          "\xF0\x9F\x98\x80");
}

TEST_CASE("anything after the object is refused", "[json]") {
    const std::string entry = R"({"key": "k", "value": "v"})";
    for (const std::string& after : {std::string("}"), std::string(","), std::string(" null"),
                                     std::string(R"({"key": "j", "value": "w"})"),
                                     std::string(1, '\0'), std::string(" \x01")}) {
        INFO(after);
        CHECK_THROWS_WITH(json::parse_entry(entry + after), Catch::Contains("trailing"));
    }
    CHECK(json::parse_entry(entry + " \t\r").key == "k");
}

TEST_CASE("values nested too deeply are refused", "[json]") {
    const auto nested = [](int depth) {
        return R"({"key": "k", "value": "v", "x": )" +
               std::string(static_cast<std::size_t>(depth), '[') +
               std::string(static_cast<std::size_t>(depth), ']') + "}";
    };
    CHECK_NOTHROW(json::parse_entry(nested(64)));
    CHECK_THROWS_WITH(json::parse_entry(nested(100000)), Catch::Contains("nested too deeply"));
}

TEST_CASE("base64 round-trips every length", "[json]") {
    std::string bytes;
    for (int i = 0; i < 64; ++i) {
        CHECK(json::base64_decode(json::base64_encode(bytes)) == bytes);
        bytes += static_cast<char>(i * 37);
    }
    CHECK(json::base64_encode("foobar") == "Zm9vYmFy");
    CHECK(json::base64_encode("fo") == "Zm8=");
    CHECK(json::base64_decode("Zg==") == "f");
    CHECK(json::base64_decode("") == "");
}

TEST_CASE("base64 that is not canonical is refused", "[json]") {
    for (const char* bad : {
             // Padding bits that are not zero: "f", "fo" and "\0\xFF" written another way.
             "Zh==",
             "Zm9=",
             "AP9=",
             // Missing padding.
             "Zg",
             "Zm8",
             "Zg=",
             "Zm9vYg",
             // Extra padding.
             "Zg===",
             "Zm8==",
             "Zg======",
             "Zm9vYmFy====",
             // Padding that does not end the text.
             "Zg==Zg==",
             "Z=g=",
             "=Zg=",
             "Zm=8",
             // Outside the alphabet (no URL-safe variant, no white space).
             "Zm9v YmFy",
             "Zm9v\nYmFy",
             "Zm9-",
             "Zm9_",
         }) {
        INFO(bad);
        CHECK_THROWS_AS(json::base64_decode(bad), UsageError);
        CHECK_THROWS_AS(
            json::parse_entry(std::string(R"({"key": "k", "value_base64": ")") + bad + "\"}"),
            UsageError);
    }
    CHECK_THROWS_WITH(json::base64_decode("AP9="), Catch::Contains("padding bits"));
}

namespace {

// The entry written from pieces of `size` bytes (the last one shorter), drained at `drain_at`.
std::string streamed_entry(const std::string& value, std::size_t size, std::size_t drain_at,
                           std::optional<double> expires) {
    const json::PieceReader read = [&](const json::PieceSink& sink) {
        for (std::size_t at = 0; at < value.size(); at += size) {
            sink(std::string_view(value).substr(at, size));
        }
    };
    std::string drained;
    std::string line = "before\n";
    json::append_entry(line, "k", read, expires,
                       [&](std::string_view text) { drained.append(text); }, drain_at);
    return drained + line;
}

} // namespace

TEST_CASE("append_entry from pieces writes the same line as from the whole value", "[json]") {
    const std::string text = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \"q\" \\ \n\t end";
    const std::string binary = std::string("ok \xC3", 4) + std::string("\0\xFF\x80", 3) + "z";
    const std::string truncated = "ends in the middle \xE2\x82";
    for (const std::string& value : {text, binary, truncated, std::string()}) {
        for (const std::optional<double> expires : {std::optional<double>(), std::optional(12.5)}) {
            std::string whole = "before\n";
            json::append_entry(whole, "k", value, expires);
            for (std::size_t size = 1; size <= value.size() + 1; ++size) {
                CAPTURE(value, size);
                CHECK(streamed_entry(value, size, 8, expires) == whole);
            }
        }
    }
}

namespace {

// The value of an entry, wherever it was gathered.
std::string value_of(json::Entry& entry) {
    if (!entry.large) {
        return entry.value;
    }
    CHECK(entry.value.empty());
    std::string bytes;
    entry.large->read([&](std::string_view piece) { bytes += piece; });
    return bytes;
}

} // namespace

TEST_CASE("base64 decodes the same in pieces of any size", "[json]") {
    std::string bytes;
    for (int i = 0; i < 1000; ++i) {
        bytes += static_cast<char>(i * 7);
    }
    for (const std::size_t cut : {bytes.size(), bytes.size() - 1, bytes.size() - 2}) {
        const std::string text = json::base64_encode(bytes.substr(0, cut));
        for (const std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{5},
                                        std::size_t{64}, text.size()}) {
            json::Base64Decoder decoder;
            std::string out;
            const auto sink = [&out](std::string_view decoded) { out += decoded; };
            for (std::size_t at = 0; at < text.size(); at += piece) {
                decoder.feed(std::string_view(text).substr(at, piece), sink);
            }
            decoder.finish(sink);
            CHECK(out == bytes.substr(0, cut));
        }
    }
    json::Base64Decoder short_one;
    short_one.feed("AAAAAA", [](std::string_view) {});
    CHECK_THROWS_AS(short_one.finish([](std::string_view) {}), UsageError);
    json::Base64Decoder padded_early;
    CHECK_THROWS_AS(padded_early.feed("AA==AAAAAAAA", [](std::string_view) {}), UsageError);
}

TEST_CASE("a long value is gathered outside memory, the same bytes", "[json][large]") {
    std::string text;
    for (int i = 0; i < 700'000; ++i) {
        text += i % 100 == 0 ? "\\n\xC3\xA9" : "ab"; // escapes and two-byte characters
    }
    std::string expected;
    for (int i = 0; i < 700'000; ++i) {
        expected += i % 100 == 0 ? "\n\xC3\xA9" : "ab";
    }
    REQUIRE(expected.size() > json::k_largest_value_in_memory);
    int released = 0;
    const json::Release release = [&released](const char*) { ++released; };
    auto entry = json::parse_entry(R"({"key": "k", "value": ")" + text + "\"}", &release);
    CHECK(entry.large);
    CHECK(value_of(entry) == expected);
    CHECK(released > 0);
    CHECK(entry.large->digest().size() == 32);

    const std::string bytes(3 << 20, '\xFE');
    entry = json::parse_entry(R"({"key": "b", "value_base64": ")" + json::base64_encode(bytes) +
                              R"(", "expires": 5})");
    CHECK(entry.large);
    CHECK(entry.expires == 5.0);
    CHECK(value_of(entry) == bytes);

    // Invalid UTF-8 anywhere in a long string, a bad base64 digit at its end: refused.
    std::string broken(5 << 20, 'a');
    broken[(4 << 20) + 1] = '\xFF';
    CHECK_THROWS_AS(json::parse_entry(R"({"key": "k", "value": ")" + broken + "\"}"), UsageError);
    CHECK_THROWS_AS(json::parse_entry(R"({"key": "k", "value_base64": ")" +
                                      json::base64_encode(bytes) + "!!!!\"}"),
                    UsageError);
    // A character cut where a run is handed over is still read whole.
    std::string across(4 << 20, 'a');
    across.replace((4 << 20) - 1, 1, "\xE2\x82\xAC"); // the euro sign over the boundary
    entry = json::parse_entry(R"({"key": "k", "value": ")" + across + "\"}");
    CHECK(value_of(entry) == across);
}
