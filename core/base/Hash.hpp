// A streaming XXH3-128 hash, printed as 32 hex digits: run's keys and the content addresses of
// stored file contents.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cacheman {

class Hasher {
  public:
    Hasher();
    ~Hasher();
    Hasher(const Hasher&) = delete;
    Hasher& operator=(const Hasher&) = delete;

    void raw(const void* data, std::size_t size);
    // A length-prefixed field, so that ("ab", "c") and ("a", "bc") differ.
    void field(std::string_view bytes);
    [[nodiscard]] std::string hex() const;

  private:
    void* m_state; // XXH3_state_t, kept out of this header
};

} // namespace cacheman
