#include "amqp/rabbitmq_quirks.hpp"

namespace imagefactory::amqp {

Result<std::vector<qmf::Message>> splitListBodyForRabbitMq(const qmf::Message& message) {
    const qmf::List* items = message.data ? nullptr : message.body.list();
    if (items == nullptr || items->size() < 2) {
        return std::vector<qmf::Message>{message};
    }
    std::string opcode = qmf::textField(message.properties, "qmf.opcode").value_or("");
    bool query_response = opcode == "_query_response";
    if (!query_response && opcode != "_data_indication") {
        return userError("a " + (opcode.empty() ? std::string("non-QMF") : opcode) +
                         " message with a list body of " + std::to_string(items->size()) +
                         " elements cannot pass RabbitMQ's AMQP 1.0 plugin");
    }

    bool was_partial = message.properties.count("partial") > 0;
    std::vector<qmf::Message> parts;
    parts.reserve(items->size());
    for (size_t i = 0; i < items->size(); ++i) {
        qmf::Message part = message;
        part.body = qmf::Value(qmf::List{(*items)[i]});
        bool last = i + 1 == items->size();
        if (query_response) {
            if (last && !was_partial) {
                part.properties.erase("partial");
            } else {
                part.properties["partial"] = qmf::Value();
            }
        }
        parts.push_back(std::move(part));
    }
    return parts;
}

}  // namespace imagefactory::amqp
