#include "engine/Types.hpp"

#include "base/Hash.hpp"

namespace cacheman::engine {

std::optional<LargeValue> content_value_of(const Write& write) {
    if (write.large_value) {
        return write.large_value;
    }
    if (!write.value || write.value->size() <= k_largest_inline_value) {
        return std::nullopt;
    }
    Hasher hasher;
    hasher.raw(write.value->data(), write.value->size());
    const std::string& value = *write.value;
    return LargeValue{hasher.hex(), value.size(),
                      [&value](const ChunkSink& sink) { sink(value); }};
}

} // namespace cacheman::engine
