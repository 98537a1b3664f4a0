#include "base/Hash.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace cacheman {

namespace {
XXH3_state_t* state_of(void* state) {
    return static_cast<XXH3_state_t*>(state);
}
} // namespace

Hasher::Hasher() : m_state(XXH3_createState()) {
    XXH3_128bits_reset(state_of(m_state));
}

Hasher::~Hasher() {
    XXH3_freeState(state_of(m_state));
}

void Hasher::raw(const void* data, std::size_t size) {
    XXH3_128bits_update(state_of(m_state), data, size);
}

void Hasher::field(std::string_view bytes) {
    const std::uint64_t size = bytes.size();
    raw(&size, sizeof size);
    raw(bytes.data(), bytes.size());
}

std::string Hasher::hex() const {
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state_of(m_state)));
    static constexpr char k_digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(32);
    for (const unsigned char byte : canonical.digest) {
        out += k_digits[byte >> 4];
        out += k_digits[byte & 0xF];
    }
    return out;
}

} // namespace cacheman
