#include "graph/Graph.hpp"

#include <algorithm>
#include <deque>

namespace cacheman {

namespace {

std::vector<std::string> neighbours(const std::map<std::string, std::set<std::string>>& adjacency,
                                    const std::string& cache) {
    const auto found = adjacency.find(cache);
    if (found == adjacency.end()) {
        return {};
    }
    return {found->second.begin(), found->second.end()};
}

} // namespace

Graph::Graph(const std::vector<Edge>& edges) {
    for (const auto& edge : edges) {
        m_children[edge.parent].insert(edge.child);
        m_parents[edge.child].insert(edge.parent);
    }
}

std::vector<std::string> Graph::parents(const std::string& cache) const {
    return neighbours(m_parents, cache);
}

std::vector<std::string> Graph::children(const std::string& cache) const {
    return neighbours(m_children, cache);
}

std::set<std::string> Graph::reachable(const Adjacency& adjacency, const std::string& from) {
    std::set<std::string> seen;
    std::vector<std::string> stack{from};
    while (!stack.empty()) {
        const std::string current = std::move(stack.back());
        stack.pop_back();
        const auto found = adjacency.find(current);
        if (found == adjacency.end()) {
            continue;
        }
        for (const auto& next : found->second) {
            if (seen.insert(next).second) {
                stack.push_back(next);
            }
        }
    }
    seen.erase(from);
    return seen;
}

std::vector<std::string> Graph::descendants(const std::string& cache) const {
    const std::set<std::string> members = reachable(m_children, cache);
    // Kahn's algorithm restricted to the members: a cache is ready once every parent it has
    // inside the set has been emitted. `cache` itself is treated as already emitted.
    std::map<std::string, std::size_t> waiting;
    for (const auto& member : members) {
        const auto& ups = m_parents.at(member);
        waiting[member] = static_cast<std::size_t>(std::count_if(
            ups.begin(), ups.end(), [&](const std::string& up) { return members.count(up) > 0; }));
    }
    std::set<std::string> ready;
    for (const auto& [member, count] : waiting) {
        if (count == 0) {
            ready.insert(member);
        }
    }
    std::vector<std::string> order;
    while (!ready.empty()) {
        const std::string next = *ready.begin();
        ready.erase(ready.begin());
        order.push_back(next);
        for (const auto& child : children(next)) {
            const auto found = waiting.find(child);
            if (found != waiting.end() && --found->second == 0) {
                ready.insert(child);
            }
        }
    }
    return order;
}

std::vector<std::string> Graph::ancestors(const std::string& cache) const {
    const std::set<std::string> found = reachable(m_parents, cache);
    return {found.begin(), found.end()};
}

std::optional<std::vector<std::string>> Graph::cycle_if_added(const std::string& parent,
                                                              const std::string& child) const {
    if (parent == child) {
        return std::vector<std::string>{parent, parent};
    }
    // Breadth-first from child towards parent: the shortest existing path child -> ... -> parent
    // is what the new edge would close.
    std::map<std::string, std::string> came_from;
    std::deque<std::string> queue{child};
    came_from[child] = child;
    while (!queue.empty()) {
        const std::string current = queue.front();
        queue.pop_front();
        if (current == parent) {
            std::vector<std::string> path{parent};
            for (std::string step = parent; step != child; step = came_from[step]) {
                path.push_back(came_from[step]);
            }
            // path is parent, ..., child in reverse order of the walk: rebuild it forwards.
            std::reverse(path.begin() + 1, path.end());
            std::vector<std::string> cycle{parent};
            cycle.insert(cycle.end(), path.begin() + 1, path.end());
            cycle.push_back(parent);
            return cycle;
        }
        for (const auto& next : children(current)) {
            if (came_from.emplace(next, current).second) {
                queue.push_back(next);
            }
        }
    }
    return std::nullopt;
}

std::vector<std::vector<std::string>> Graph::chains_to(const std::string& cache,
                                                       std::size_t limit) const {
    // Depth-first upwards with an explicit stack (no recursion: a chain may be as long as the
    // graph is deep). frames[i] is the i-th node of the current path and the next of its
    // parents to try.
    struct Frame {
        std::string node;
        std::vector<std::string> ups;
        std::size_t next = 0;
    };
    std::vector<std::vector<std::string>> chains;
    std::vector<Frame> frames;
    frames.push_back({cache, parents(cache), 0});
    while (!frames.empty() && chains.size() < limit) {
        Frame& top = frames.back();
        if (top.ups.empty() && frames.size() > 1) {
            std::vector<std::string> chain;
            chain.reserve(frames.size());
            for (auto frame = frames.rbegin(); frame != frames.rend(); ++frame) {
                chain.push_back(frame->node);
            }
            chains.push_back(std::move(chain));
        }
        if (top.next >= top.ups.size()) {
            frames.pop_back();
            continue;
        }
        const std::string up = top.ups[top.next++];
        frames.push_back({up, parents(up), 0});
    }
    std::sort(chains.begin(), chains.end());
    return chains;
}

std::string format_path(const std::vector<std::string>& path) {
    std::string out;
    for (const auto& step : path) {
        if (!out.empty()) {
            out += " -> ";
        }
        out += step;
    }
    return out;
}

} // namespace cacheman
