#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace imagefactory::qmf {

class Value;
using List = std::vector<Value>;
using Map = std::map<std::string, Value>;

struct Binary {
    std::string bytes;
    bool operator==(const Binary&) const = default;
};

struct Uuid {
    std::array<uint8_t, 16> bytes{};
    bool operator==(const Uuid&) const = default;
};

// A QMF value, decoded from or encoded to AMQP by the amqp layer. The integer alternatives keep
// the AMQP width the protocol needs on output (_epoch is uint, _timestamp ulong, _severity int);
// on input every integer width is widened to Int64 or UInt64.
class Value {
  public:
    enum class Type {
        Null,
        Bool,
        Int32,
        Int64,
        UInt32,
        UInt64,
        Double,
        String,
        Binary,
        Uuid,
        List,
        Map
    };

    Value() = default;
    Value(bool v) : data_(v) {}
    Value(int32_t v) : data_(v) {}
    Value(int64_t v) : data_(v) {}
    Value(uint32_t v) : data_(v) {}
    Value(uint64_t v) : data_(v) {}
    Value(double v) : data_(v) {}
    Value(const char* v) : data_(std::string(v)) {}
    Value(std::string v) : data_(std::move(v)) {}
    Value(Binary v) : data_(std::move(v)) {}
    Value(Uuid v) : data_(v) {}
    Value(List v) : data_(std::move(v)) {}
    Value(Map v) : data_(std::move(v)) {}

    Type type() const { return static_cast<Type>(data_.index()); }
    bool isNull() const { return type() == Type::Null; }

    // String or Binary read as UTF-8 text: consoles on AMQP 0-10 send strings as binary.
    std::optional<std::string> text() const;
    // Any integer width; nullopt for other types or a value that does not fit.
    std::optional<int64_t> integer() const;
    const List* list() const { return std::get_if<List>(&data_); }
    const Map* map() const { return std::get_if<Map>(&data_); }
    List* list() { return std::get_if<List>(&data_); }
    Map* map() { return std::get_if<Map>(&data_); }

    template <typename T>
    const T* get() const {
        return std::get_if<T>(&data_);
    }

    bool operator==(const Value&) const = default;

  private:
    std::variant<std::monostate, bool, int32_t, int64_t, uint32_t, uint64_t, double, std::string,
                 Binary, Uuid, List, Map>
        data_;
};

// A field of a map read as text (string or binary), or nullopt when missing or not text.
std::optional<std::string> textField(const Map& map, const std::string& key);

}  // namespace imagefactory::qmf
