#pragma once

#include <proton/message.hpp>
#include <proton/value.hpp>

#include "core/error.hpp"
#include "qmf/message.hpp"
#include "qmf/value.hpp"

namespace imagefactory::amqp {

// Conversion between Proton's AMQP values and messages and the broker-neutral QMF types.
//
// Decoding accepts any AMQP value a peer can send. Every integer width is widened (unsigned to
// UInt64, signed to Int64), float to Double, symbol to String, char to its UTF-8 String,
// timestamp to Int64 milliseconds, decimals to their raw bytes as Binary, arrays to List, and a
// described value to the value it describes (the descriptor is dropped). Map keys that are
// string, symbol or binary are kept as text, integer keys as decimal text; entries with other
// key types are dropped. Values nested deeper than kMaxDepth are an error.
//
// Encoding keeps the width of each alternative: Int32 is int, UInt32 uint, UInt64 ulong, Int64
// long. Lists become AMQP lists of values (never arrays) and maps AMQP maps with string keys.

inline constexpr int kMaxDepth = 64;

Result<qmf::Value> fromProtonValue(const proton::value& value);
proton::value toProtonValue(const qmf::Value& value);

// Decodes every field of a received message. A data section is kept as bytes in data (body is
// then null); an amqp-value section becomes body.
Result<qmf::Message> fromProtonMessage(const proton::message& message);

// Encodes the properties, correlation id, content type, TTL and body of message. Routing fields
// (to, subject, reply_to) are copied as they are; the caller decides where the message goes.
proton::message toProtonMessage(const qmf::Message& message);

}  // namespace imagefactory::amqp
