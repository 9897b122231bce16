#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "qmf/schema.hpp"

// The QMFv1 binary schema exchange that qpid-tool and qpid-printevents (qmf.console) use to
// fetch class schemas, even from QMFv2 agents. Integers are big-endian, str8 is a length byte
// and the bytes.
namespace imagefactory::qmf {

// Request "AM2S", uint32 sequence, str8 package, str8 class, 16-byte hash.
struct Qmf1SchemaRequest {
    uint32_t sequence = 0;
    std::string package;
    std::string class_name;
    Uuid hash;
};

// Parses an AM2S request; anything else or truncated input is an error.
Result<Qmf1SchemaRequest> parseQmf1SchemaRequest(std::string_view bytes);

// Encodes the reply: "AM2s", the sequence, the class kind (1 data, 2 event), package, class
// and hash. A data class follows with the property, statistic (0) and method counts as uint16,
// one 0-10 map per property, and per method a method map and its argument maps. An event class
// follows with the argument count and one map per argument.
Result<std::string> encodeQmf1SchemaResponse(uint32_t sequence, const schema::Class& c);

}  // namespace imagefactory::qmf
