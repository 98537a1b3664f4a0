#include "graph/Graph.hpp"

#include <catch2/catch.hpp>

using namespace cacheman;
using Names = std::vector<std::string>;

TEST_CASE("descendants are transitive, each once, every cache after its parents", "[graph]") {
    // root -> a -> c, root -> b -> c (a diamond), c -> d; x -> root is upstream.
    const Graph graph({{"root", "a"},
                       {"root", "b"},
                       {"a", "c"},
                       {"b", "c"},
                       {"c", "d"},
                       {"x", "root"},
                       {"other", "y"}});
    CHECK(graph.descendants("root") == Names{"a", "b", "c", "d"});
    CHECK(graph.descendants("b") == Names{"c", "d"});
    CHECK(graph.descendants("d").empty());
    CHECK(graph.descendants("unknown").empty());
    CHECK(graph.ancestors("c") == Names{"a", "b", "root", "x"});
    CHECK(graph.parents("c") == Names{"a", "b"});
    CHECK(graph.children("root") == Names{"a", "b"});
}

TEST_CASE("topological order holds when names sort against it", "[graph]") {
    // z is a child of a, but b is a child of z: b must come after z even though b < z.
    const Graph graph({{"a", "z"}, {"z", "b"}, {"a", "b"}});
    CHECK(graph.descendants("a") == Names{"z", "b"});
}

TEST_CASE("an edge that would close a cycle is reported with its path", "[graph]") {
    const Graph graph({{"a", "b"}, {"b", "c"}});
    CHECK(graph.cycle_if_added("c", "a") == Names{"c", "a", "b", "c"});
    CHECK(graph.cycle_if_added("b", "a") == Names{"b", "a", "b"});
    CHECK(graph.cycle_if_added("a", "a") == Names{"a", "a"});
    CHECK_FALSE(graph.cycle_if_added("a", "c"));
    CHECK_FALSE(graph.cycle_if_added("c", "d"));
    CHECK(format_path({"c", "a", "b", "c"}) == "c -> a -> b -> c");
}
