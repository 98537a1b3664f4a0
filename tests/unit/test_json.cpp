#include "base/Error.hpp"
#include "jsonl/Json.hpp"

#include <catch2/catch.hpp>

using namespace cacheman;

TEST_CASE("strings are escaped as JSON requires", "[json]") {
    CHECK(json::quote("plain") == "\"plain\"");
    CHECK(json::quote("a\"b\\c") == R"("a\"b\\c")");
    CHECK(json::quote("\n\r\t\b\f") == R"("\n\r\t\b\f")");
    CHECK(json::quote(std::string("\x01\x1f", 2)) == R"("\u0001\u001f")");
    CHECK(json::quote("caf\xC3\xA9") == "\"caf\xC3\xA9\"");
}

TEST_CASE("seconds print with up to millisecond precision", "[json]") {
    std::string out;
    json::append_seconds(out, 1700000000.0);
    CHECK(out == "1700000000");
    out.clear();
    json::append_seconds(out, 1700000000.25);
    CHECK(out == "1700000000.25");
    out.clear();
    json::append_seconds(out, 12.0004);
    CHECK(out == "12");
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
        CHECK(*entry.expires == Approx(1700000000.5));
    }
    std::string line;
    json::append_entry(line, "k", binary, std::nullopt);
    CHECK(line.find("value_base64") != std::string::npos);
    CHECK(line.find("expires") == std::string::npos);
}

TEST_CASE("the export format is exactly as the contract writes it", "[json]") {
    std::string line;
    json::append_entry(line, "k", "v", std::nullopt);
    CHECK(line == R"({"key": "k", "value": "v"})");
}

TEST_CASE("entries parse with escapes, surrogate pairs, unknown members", "[json]") {
    auto entry =
        json::parse_entry(R"( {"value":"\u00e9\ud83d\ude00\/","key":"k","extra":[1,{"a":null}]} )");
    CHECK(entry.key == "k");
    CHECK(entry.value == "\xC3\xA9\xF0\x9F\x98\x80/");
    CHECK_FALSE(entry.expires);
    entry = json::parse_entry(R"({"key": "k", "value_base64": "AP8=", "expires": null})");
    CHECK(entry.value == std::string("\x00\xFF", 2));
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

TEST_CASE("base64 round-trips every length", "[json]") {
    std::string bytes;
    for (int i = 0; i < 64; ++i) {
        CHECK(json::base64_decode(json::base64_encode(bytes)) == bytes);
        bytes += static_cast<char>(i * 37);
    }
    CHECK(json::base64_encode("foobar") == "Zm9vYmFy");
    CHECK(json::base64_encode("fo") == "Zm8=");
}
