// cacheman's C++ library in one page: a cache used like a map, a dependent cache cleared by an
// invalidation, and a write-back cache that commits its edits in batches. The store is found as
// the command finds it: $CACHEMAN_DIR, else $XDG_CACHE_HOME/cacheman, else ~/.cache/cacheman.
#include <cacheman/cacheman.hpp>

#include <iostream>
#include <string>

int main() {
    try {
        auto m = cacheman::Manager::open();

        // A cache used like a std::map<std::string, std::string>.
        cacheman::Cache raw = m.cache("raw");
        raw.set("a.txt", "hello");
        raw["b.txt"] = "world!";
        std::cout << "raw[a.txt] = " << raw.get("a.txt").value_or("(missing)") << '\n';

        // "sizes" is computed from "raw": invalidating raw clears it.
        m.depend("raw", "sizes");
        cacheman::Cache sizes = m.cache("sizes");
        for (const auto& [key, value] : raw) {
            sizes[key] = std::to_string(value.size());
            std::cout << key << ": " << value << " (" << value.size() << " bytes)\n";
        }
        std::cout << "sizes has " << sizes.size() << " entries\n";
        m.invalidate("raw", "a.txt");
        std::cout << "after invalidating raw/a.txt: raw has " << raw.size() << ", sizes has "
                  << sizes.size() << '\n';
        try {
            std::string gone = raw["a.txt"];
        } catch (const cacheman::NotFoundError& error) {
            std::cout << "error: " << error.what() << '\n';
        }

        // A write-back cache: edits stay in memory until a commit (here: save() and the end of
        // its scope; with many edits, also when the auto-sync rules say a save is due).
        {
            cacheman::Cache log = m.cache("log", {.mode = cacheman::WriteMode::write_back});
            for (int i = 1; i <= 3; ++i) {
                log["line" + std::to_string(i)] = "entry " + std::to_string(i);
            }
            std::cout << "write-back: " << log.pending() << " pending, the store has "
                      << m.cache("log").size() << '\n';
            log.save();
            std::cout << "after save: the store has " << m.cache("log").size() << '\n';
            log["line4"] = "entry 4";
        }
        std::cout << "after the write-back cache is gone: the store has " << m.cache("log").size()
                  << '\n';
        return 0;
    } catch (const cacheman::Error& error) {
        std::cerr << "basic: error: " << error.what() << '\n';
        return 1;
    }
}
