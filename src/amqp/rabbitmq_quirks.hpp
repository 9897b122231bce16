#pragma once

#include <vector>

#include "core/error.hpp"
#include "qmf/message.hpp"

namespace imagefactory::amqp {

// RabbitMQ 3.10's AMQP 1.0 plugin (Debian 12, 3.10.8) cannot carry an amqp-value body that is a
// list of two or more elements. Its message decoder reads the list as the fields of the
// amqp-value section and fails, and the broker closes the whole connection with
// amqp:connection:framing-error. Empty and one-element lists, and lists nested in maps, pass
// unchanged.
//
// Splits such a message into messages with one-element list bodies, which QMF allows for the
// two list-bodied replies an agent sends: a _query_response becomes a multi-part response (the
// partial property on every part but the last, unless the original was partial too) and a
// _data_indication becomes one indication per item. Any other message with a long list body
// is an error. Other messages are returned as they are.
Result<std::vector<qmf::Message>> splitListBodyForRabbitMq(const qmf::Message& message);

}  // namespace imagefactory::amqp
