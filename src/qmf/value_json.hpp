#pragma once

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "qmf/message.hpp"
#include "qmf/value.hpp"

// A JSON form of Value and Message that keeps AMQP types, for test fixtures and for showing
// replies. Plain JSON maps onto the natural types: string to String, true/false to Bool, an
// integer to Int64, a fraction to Double, an array to List, an object to Map, null to Null.
// Other types are an object with one tag key: {"binary": "text"}, {"int": n}, {"uint": n},
// {"ulong": n}, {"long": n}, {"uuid": "8-4-4-4-12"}, and {"map": {...}} for a map whose only
// key happens to be a tag. Binary bytes become a JSON string as they are, so dump with
// nlohmann::json::error_handler_t::replace when they may not be UTF-8.
namespace imagefactory::qmf {

nlohmann::json toJson(const Value& value);
Result<Value> valueFromJson(const nlohmann::json& json);

// Message fields: to, node, subject, reply_to, correlation_id, content_type, properties,
// body, data, ttl_ms. Absent fields keep their defaults.
nlohmann::json toJson(const Message& message);
Result<Message> messageFromJson(const nlohmann::json& json);

}  // namespace imagefactory::qmf
