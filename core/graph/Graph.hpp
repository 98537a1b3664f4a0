// The dependency graph as plain data: which caches are computed from which. Pure logic, no
// storage, so cascades and cycle checks are unit-tested directly.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace cacheman {

struct Edge {
    std::string parent;
    std::string child;
};

class Graph {
  public:
    explicit Graph(const std::vector<Edge>& edges);

    [[nodiscard]] std::vector<std::string> parents(const std::string& cache) const;
    [[nodiscard]] std::vector<std::string> children(const std::string& cache) const;

    // Every cache reachable from `cache` through child edges, each once (diamonds included), in
    // an order where each cache comes after all of its parents within the set; ties by name.
    // `cache` itself is not included.
    [[nodiscard]] std::vector<std::string> descendants(const std::string& cache) const;
    // Every cache from which `cache` is reachable, sorted by name.
    [[nodiscard]] std::vector<std::string> ancestors(const std::string& cache) const;

    // Every chain of parents through which invalidating would reach `cache`: each path that
    // starts at an ancestor without parents and ends at `cache`, as [ancestor, ..., cache].
    // Sorted; at most `limit` chains (diamonds multiply them). Empty when `cache` has no parent.
    [[nodiscard]] std::vector<std::vector<std::string>> chains_to(const std::string& cache,
                                                                  std::size_t limit) const;

    // The path that adding parent -> child would close, as [parent, child, ..., parent], or
    // nothing when the edge keeps the graph acyclic. A self edge gives [parent, parent].
    [[nodiscard]] std::optional<std::vector<std::string>>
    cycle_if_added(const std::string& parent, const std::string& child) const;

  private:
    using Adjacency = std::map<std::string, std::set<std::string>>;
    static std::set<std::string> reachable(const Adjacency& adjacency, const std::string& from);

    Adjacency m_children;
    Adjacency m_parents;
};

// Formats a cycle path as "a -> b -> a".
std::string format_path(const std::vector<std::string>& path);

} // namespace cacheman
