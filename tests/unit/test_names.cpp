#include "base/Error.hpp"
#include "base/Names.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace cacheman;

TEST_CASE("UTF-8 validation accepts well-formed text and rejects the rest", "[names]") {
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("plain ascii"));
    CHECK(is_valid_utf8("caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80"));
    CHECK_FALSE(is_valid_utf8("\xC3"));             // truncated
    CHECK_FALSE(is_valid_utf8("\xC0\xAF"));         // overlong '/'
    CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));     // surrogate U+D800
    CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80")); // above U+10FFFF
    CHECK_FALSE(is_valid_utf8("\xFF"));
    CHECK_FALSE(is_valid_utf8("a\x80"
                              "b")); // stray continuation byte
}

TEST_CASE("namespaces are 1-64 of [A-Za-z0-9._-], not starting with a dot", "[names]") {
    CHECK_NOTHROW(validate_namespace("default"));
    CHECK_NOTHROW(validate_namespace("build-2.cache_x"));
    CHECK_NOTHROW(validate_namespace(std::string(64, 'a')));
    CHECK_THROWS_AS(validate_namespace(""), UsageError);
    CHECK_THROWS_AS(validate_namespace(std::string(65, 'a')), UsageError);
    CHECK_THROWS_AS(validate_namespace(".hidden"), UsageError);
    CHECK_THROWS_AS(validate_namespace("../x"), UsageError);
    CHECK_THROWS_AS(validate_namespace("a/b"), UsageError);
    CHECK_THROWS_AS(validate_namespace("a b"), UsageError);
    CHECK_THROWS_AS(validate_namespace("caf\xC3\xA9"), UsageError);
}

TEST_CASE("cache names are 1-255 bytes of UTF-8 without control characters", "[names]") {
    CHECK_NOTHROW(validate_cache_name("root"));
    CHECK_NOTHROW(validate_cache_name("depends"));
    CHECK_NOTHROW(validate_cache_name("'; DROP TABLE depends; --"));
    CHECK_NOTHROW(validate_cache_name("with space \"quoted\""));
    CHECK_NOTHROW(validate_cache_name("\xE6\x97\xA5\xE6\x9C\xAC"));
    CHECK_NOTHROW(validate_cache_name(std::string(255, 'x')));
    CHECK_THROWS_AS(validate_cache_name(""), UsageError);
    CHECK_THROWS_AS(validate_cache_name(std::string(256, 'x')), UsageError);
    CHECK_THROWS_AS(validate_cache_name("tab\there"), UsageError);
    CHECK_THROWS_AS(validate_cache_name("new\nline"), UsageError);
    CHECK_THROWS_AS(validate_cache_name("del\x7F"), UsageError);
    CHECK_THROWS_AS(validate_cache_name(std::string("nul\0x", 5)), UsageError);
    CHECK_THROWS_AS(validate_cache_name("\xFF"), UsageError);
}

TEST_CASE("keys are any UTF-8 text without NUL", "[names]") {
    CHECK_NOTHROW(validate_key(""));
    CHECK_NOTHROW(validate_key("line\nbreak\ttab"));
    CHECK_NOTHROW(validate_key(std::string(20000, 'k')));
    CHECK_THROWS_AS(validate_key(std::string("a\0b", 3)), UsageError);
    CHECK_THROWS_AS(validate_key("\xC3"), UsageError);
}
