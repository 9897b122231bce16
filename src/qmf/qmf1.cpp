#include "qmf/qmf1.hpp"

#include "qmf/agent_state.hpp"
#include "qmf/codec010.hpp"

namespace imagefactory::qmf {

namespace {

// QMFv1 type codes: long string, signed 64-bit, double, field table, list, and so on.
uint32_t qmf1TypeCode(schema::DataType type) {
    switch (type) {
        case schema::DataType::Void:
            return 1;
        case schema::DataType::Bool:
            return 11;
        case schema::DataType::Int:
            return 19;
        case schema::DataType::Float:
            return 13;
        case schema::DataType::String:
            return 7;
        case schema::DataType::Map:
            return 15;
        case schema::DataType::List:
            return 21;
        case schema::DataType::Uuid:
            return 14;
    }
    return 1;
}

std::string_view directionCode(schema::Direction dir) {
    switch (dir) {
        case schema::Direction::In:
            return "I";
        case schema::Direction::Out:
            return "O";
        case schema::Direction::InOut:
            return "IO";
    }
    return "I";
}

void putUInt(std::string& out, uint64_t value, int bytes) {
    for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((value >> shift) & 0xff));
    }
}

void putStr8(std::string& out, const std::string& text) {
    putUInt(out, text.size(), 1);
    out += text;
}

void addDescription(Map& map, const std::string& desc) {
    if (!desc.empty()) {
        map["desc"] = desc;
    }
}

}  // namespace

Result<Qmf1SchemaRequest> parseQmf1SchemaRequest(std::string_view bytes) {
    if (bytes.size() < 4 || bytes.substr(0, 3) != "AM2") {
        return userError("not a QMFv1 message (no AM2 header)");
    }
    if (bytes[3] != 'S') {
        return userError(std::string("unsupported QMFv1 opcode '") + bytes[3] + "'");
    }
    size_t offset = 4;
    auto need = [&](size_t count) { return bytes.size() - offset >= count; };
    if (!need(4)) {
        return userError("QMFv1 schema request truncated in the sequence number");
    }
    Qmf1SchemaRequest request;
    for (int i = 0; i < 4; ++i) {
        request.sequence = (request.sequence << 8) | static_cast<uint8_t>(bytes[offset++]);
    }
    for (std::string* field : {&request.package, &request.class_name}) {
        if (!need(1)) {
            return userError("QMFv1 schema request truncated in a name");
        }
        size_t length = static_cast<uint8_t>(bytes[offset++]);
        if (!need(length)) {
            return userError("QMFv1 schema request truncated in a name");
        }
        *field = std::string(bytes.substr(offset, length));
        offset += length;
    }
    if (!need(16)) {
        return userError("QMFv1 schema request truncated in the hash");
    }
    for (size_t i = 0; i < 16; ++i) {
        request.hash.bytes[i] = static_cast<uint8_t>(bytes[offset++]);
    }
    return request;
}

// NOTE: the layout follows qpid's C++ agent and qmf.console sources; no reply has yet been
// checked against a live qpid-tool.
Result<std::string> encodeQmf1SchemaResponse(uint32_t sequence, const schema::Class& c) {
    std::string out = "AM2s";
    putUInt(out, sequence, 4);
    putUInt(out, c.kind == schema::ClassKind::Data ? 1 : 2, 1);
    putStr8(out, c.package);
    putStr8(out, c.name);
    out.append(reinterpret_cast<const char*>(c.hash.bytes.data()), 16);

    auto append = [&out](const Map& map) { return codec010::appendMap(map, out); };

    if (c.kind == schema::ClassKind::Event) {
        putUInt(out, c.properties.size(), 2);
        for (const schema::Property& p : c.properties) {
            Map map{{"name", p.name}, {"type", qmf1TypeCode(p.type)}};
            addDescription(map, p.desc);
            if (auto status = append(map); !status) {
                return status.error();
            }
        }
        return out;
    }

    putUInt(out, c.properties.size(), 2);
    putUInt(out, 0, 2);  // statistics
    putUInt(out, c.methods.size(), 2);
    for (const schema::Property& p : c.properties) {
        // Access codes: 1 RC, 2 RW, 3 RO.
        Map map{{"name", p.name},
                {"type", qmf1TypeCode(p.type)},
                {"access", int32_t{p.access == schema::Access::ReadCreate  ? 1
                                   : p.access == schema::Access::ReadWrite ? 2
                                                                           : 3}},
                {"index", int32_t{0}},
                {"optional", int32_t{0}}};
        addDescription(map, p.desc);
        if (auto status = append(map); !status) {
            return status.error();
        }
    }
    for (const schema::Method& m : c.methods) {
        Map method_map{{"name", m.name}, {"argCount", static_cast<int32_t>(m.arguments.size())}};
        addDescription(method_map, m.desc);
        if (auto status = append(method_map); !status) {
            return status.error();
        }
        for (const schema::Property& a : m.arguments) {
            Map map{{"name", a.name},
                    {"type", qmf1TypeCode(a.type)},
                    {"dir", std::string(directionCode(a.dir))}};
            addDescription(map, a.desc);
            if (auto status = append(map); !status) {
                return status.error();
            }
        }
    }
    return out;
}

void Agent::State::handleQmf1(const Message& request, std::vector<Message>& out) const {
    auto parsed = parseQmf1SchemaRequest(*request.data);
    if (!parsed) {
        log->debug("ignoring QMFv1 message: {}", parsed.error().message);
        return;
    }
    const schema::Class* found = schema::findClass(parsed->package, parsed->class_name);
    // An unknown class or another hash gets no reply, as in the reference agent: a reply must
    // repeat the requested hash, and ours describes a different class definition.
    if (found == nullptr || found->package != parsed->package || found->hash != parsed->hash) {
        log->debug("no QMFv1 schema for package={} class={} hash={}", parsed->package,
                   parsed->class_name, uuidText(parsed->hash));
        return;
    }
    if (request.reply_to.empty()) {
        return;
    }
    auto bytes = encodeQmf1SchemaResponse(parsed->sequence, *found);
    if (!bytes) {
        log->error("cannot encode QMFv1 schema class={}: {}", found->name, bytes.error().message);
        return;
    }
    // QMFv1 replies carry qmf.agent but neither the QMF2 app id nor an opcode.
    Message reply;
    reply.reply_to = request.reply_to;
    reply.correlation_id = request.correlation_id;
    reply.content_type = std::string(kContentTypeQmf1);
    reply.properties[std::string(kAgentKey)] = name;
    reply.data = std::move(*bytes);
    out.push_back(std::move(reply));
}

}  // namespace imagefactory::qmf
