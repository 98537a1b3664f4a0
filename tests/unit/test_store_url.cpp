// Choosing the shared store (base/StoreUrl): --store, CACHEMAN_STORE, and what is refused before
// anything connects.
#include "FakeEnv.hpp"
#include "base/Error.hpp"
#include "base/StoreUrl.hpp"

#include <catch2/catch.hpp>

using namespace cacheman;

namespace {

// The message of the UsageError that validating `url` throws ("" when it throws none).
std::string refusal_of(const std::string& url) {
    try {
        validate_store_url(url);
    } catch (const UsageError& error) {
        return error.what();
    }
    return "";
}

} // namespace

TEST_CASE("store URLs: postgresql:// and postgres:// URLs without a password", "[store-url]") {
    for (const char* url : {"postgresql://ci@db.example.com:5433/builds?sslmode=verify-full",
                            "postgres:///builds?host=/run/postgresql", "postgresql://",
                            "postgresql://ci@[::1]:5432/db", "postgresql://db/x?service=ci&user=a",
                            "postgresql://db/x?passwordless=1", "postgresql://a@b/c?x=p:q@r"}) {
        CHECK(refusal_of(url).empty());
    }
}

TEST_CASE("store URLs: a password is refused without being echoed", "[store-url]") {
    for (const char* url : {"postgresql://ci:hunter2@db/builds", "postgres://ci:@db/builds",
                            "postgresql://db/builds?user=ci&password=hunter2",
                            "postgresql://db/builds?password=hunter2",
                            "postgresql://db/builds?%70assword=hunter2",
                            "postgresql://db/builds?pass%77ord=hunter2"}) {
        const std::string message = refusal_of(url);
        CHECK_THAT(message, Catch::Contains("password"));
        CHECK_THAT(message, Catch::Contains("PGPASSFILE"));
        CHECK(message.find("hunter2") == std::string::npos);
    }
}

TEST_CASE("store URLs: what is not such a URL is refused without being echoed", "[store-url]") {
    for (const char* store : {"host=db password=hunter2", "mysql://db/hunter2", "", "/var/db"}) {
        const std::string message = refusal_of(store);
        CHECK_THAT(message, Catch::Contains("postgresql://"));
        CHECK(message.find("hunter2") == std::string::npos);
    }
}

TEST_CASE("store URLs: --store, else CACHEMAN_STORE unless --dir is given", "[store-url]") {
    const auto env = test::fake_env({{"CACHEMAN_STORE", "postgresql://env/db"}});
    CHECK(resolve_store(std::string("postgresql://opt/db"), std::nullopt, env) ==
          "postgresql://opt/db");
    CHECK(resolve_store(std::nullopt, std::nullopt, env) == "postgresql://env/db");
    CHECK_FALSE(resolve_store(std::nullopt, std::string("/d"), env));
    CHECK_FALSE(resolve_store(std::nullopt, std::nullopt, test::fake_env({})));
    CHECK_FALSE(resolve_store(std::nullopt, std::nullopt,
                              test::fake_env({{"CACHEMAN_STORE", ""}})));
    CHECK_THROWS_AS(resolve_store(std::string("postgresql://opt/db"), std::string("/d"), env),
                    UsageError);
    CHECK_THROWS_AS(resolve_store(std::nullopt, std::nullopt,
                                  test::fake_env({{"CACHEMAN_STORE", "postgresql://a:b@h/db"}})),
                    UsageError);
}
