#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "qmf/value.hpp"

// AMQP 0-10 map and list encoding, the body format of qpid::messaging consoles that speak
// AMQP 1.0 (a data section with content-type amqp/map or amqp/list) and of the maps inside
// QMFv1 binary schema replies. All integers are big-endian.
//
// Decoding reads untrusted bytes: truncation, lengths beyond the buffer, counts that cannot
// fit, unknown type codes, invalid text and nesting deeper than kMaxNesting are returned as
// errors (code UserInput) naming the problem and its byte offset. Integers widen to Int64 or
// UInt64 as the AMQP layer does, float to Double, datetime to UInt64, void to Null, and every
// string encoding (str8, str16 in ISO-8859-15, UTF-8 or UTF-16) to a UTF-8 String; vbin8,
// vbin16 and vbin32 become Binary.
namespace imagefactory::qmf::codec010 {

inline constexpr size_t kMaxNesting = 64;

// Encodes a map (uint32 size, uint32 count, entries) or a list. Strings are written as UTF-8
// str16 (0x95), or as vbin32 (0xa0) when longer than 65535 bytes; binary as vbin16 (0x90) or
// vbin32. Map keys longer than 255 bytes cannot be written as str8 and are an error.
Result<std::string> encodeMap(const Map& map);
Result<std::string> encodeList(const List& list);

// Decodes exactly one map or list occupying all of bytes.
Result<Map> decodeMap(std::string_view bytes);
Result<List> decodeList(std::string_view bytes);

// Appends one map or list to out; used by encoders of larger formats (QMFv1).
Status appendMap(const Map& map, std::string& out);

// Reads one map starting at offset and advances offset past it.
Result<Map> readMap(std::string_view bytes, size_t& offset);

}  // namespace imagefactory::qmf::codec010
