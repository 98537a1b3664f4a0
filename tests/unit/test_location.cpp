#include "base/Error.hpp"
#include "base/Location.hpp"

#include <catch2/catch.hpp>
#include <map>

using namespace cacheman;

namespace {

EnvLookup fake_env(std::map<std::string, std::string> values) {
    return [values](const char* name) -> std::optional<std::string> {
        const auto found = values.find(name);
        return found == values.end() ? std::nullopt : std::optional<std::string>(found->second);
    };
}

} // namespace

TEST_CASE("the store directory follows --dir, CACHEMAN_DIR, XDG_CACHE_HOME, HOME", "[location]") {
    const auto all = fake_env({{"CACHEMAN_DIR", "/c"}, {"XDG_CACHE_HOME", "/x"}, {"HOME", "/h"}});
    CHECK(resolve_location(std::string("/d/"), std::nullopt, all).dir == "/d");
    CHECK(resolve_location(std::nullopt, std::nullopt, all).dir == "/c");
    CHECK(resolve_location(std::nullopt, std::nullopt,
                           fake_env({{"CACHEMAN_DIR", ""}, {"XDG_CACHE_HOME", "/x"}}))
              .dir == "/x/cacheman");
    CHECK(resolve_location(std::nullopt, std::nullopt, fake_env({{"HOME", "/h"}})).dir ==
          "/h/.cache/cacheman");
    CHECK_THROWS_AS(resolve_location(std::nullopt, std::nullopt, fake_env({})), UsageError);
}

TEST_CASE("the namespace follows -n, CACHEMAN_NAMESPACE, default", "[location]") {
    const auto env = fake_env({{"HOME", "/h"}, {"CACHEMAN_NAMESPACE", "env"}});
    CHECK(resolve_location(std::nullopt, std::string("opt"), env).path() ==
          "/h/.cache/cacheman/opt.sqlite");
    CHECK(resolve_location(std::nullopt, std::nullopt, env).name_space == "env");
    CHECK(resolve_location(std::nullopt, std::nullopt,
                           fake_env({{"HOME", "/h"}, {"CACHEMAN_NAMESPACE", ""}}))
              .name_space == "default");
    CHECK_THROWS_AS(resolve_location(std::nullopt, std::string(""), env), UsageError);
    CHECK_THROWS_AS(resolve_location(std::nullopt, std::string("../x"), env), UsageError);
    CHECK_THROWS_AS(resolve_location(std::nullopt, std::nullopt,
                                     fake_env({{"HOME", "/h"}, {"CACHEMAN_NAMESPACE", "a/b"}})),
                    UsageError);
}
