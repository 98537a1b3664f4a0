#include "FakeEnv.hpp"
#include "base/Error.hpp"
#include "base/Location.hpp"

#include <catch2/catch.hpp>
#include <map>

using namespace cacheman;

TEST_CASE("the store directory follows --dir, CACHEMAN_DIR, XDG_CACHE_HOME, HOME", "[location]") {
    const auto all = test::fake_env({{"CACHEMAN_DIR", "/c"}, {"XDG_CACHE_HOME", "/x"}, {"HOME", "/h"}});
    CHECK(resolve_location(std::string("/d/"), std::nullopt, all).dir == "/d");
    CHECK(resolve_location(std::nullopt, std::nullopt, all).dir == "/c");
    CHECK(resolve_location(std::nullopt, std::nullopt,
                           test::fake_env({{"CACHEMAN_DIR", ""}, {"XDG_CACHE_HOME", "/x"}}))
              .dir == "/x/cacheman");
    CHECK(resolve_location(std::nullopt, std::nullopt, test::fake_env({{"HOME", "/h"}})).dir ==
          "/h/.cache/cacheman");
    CHECK_THROWS_AS(resolve_location(std::nullopt, std::nullopt, test::fake_env({})), UsageError);
}

TEST_CASE("the namespace follows -n, CACHEMAN_NAMESPACE, default", "[location]") {
    const auto env = test::fake_env({{"HOME", "/h"}, {"CACHEMAN_NAMESPACE", "env"}});
    CHECK(resolve_location(std::nullopt, std::string("opt"), env).path() ==
          "/h/.cache/cacheman/opt.sqlite");
    CHECK(resolve_location(std::nullopt, std::nullopt, env).name_space == "env");
    CHECK(resolve_location(std::nullopt, std::nullopt,
                           test::fake_env({{"HOME", "/h"}, {"CACHEMAN_NAMESPACE", ""}}))
              .name_space == "default");
    CHECK_THROWS_AS(resolve_location(std::nullopt, std::string(""), env), UsageError);
    CHECK_THROWS_AS(resolve_location(std::nullopt, std::string("../x"), env), UsageError);
    CHECK_THROWS_AS(resolve_location(std::nullopt, std::nullopt,
                                     test::fake_env({{"HOME", "/h"}, {"CACHEMAN_NAMESPACE", "a/b"}})),
                    UsageError);
}
