#include "daemon/console_session.hpp"

#include "qmf/protocol.hpp"
#include "qmf/schema.hpp"

namespace imagefactory {
namespace {

using Clock = std::chrono::steady_clock;
using qmf::console::AgentInfo;

bool isImageFactory(const AgentInfo& agent, const std::string& filter) {
    bool selected = filter.empty() || agent.name == filter || agent.instance == filter;
    return selected && agent.vendor == qmf::schema::kVendor &&
           agent.product == qmf::schema::kProduct;
}

std::chrono::milliseconds remaining(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return std::max(left, std::chrono::milliseconds(0));
}

}  // namespace

ConsoleSession::ConsoleSession(amqp::ConsoleConnection::Options options,
                               std::chrono::milliseconds timeout)
    : connection_(std::move(options)), timeout_(timeout) {}

Status ConsoleSession::open() {
    return connection_.open(timeout_);
}

qmf::console::RequestTarget ConsoleSession::targetFor(const std::string& agent_name) {
    return {agent_name, connection_.replyTo(), std::to_string(next_correlation_++)};
}

void ConsoleSession::keep(const qmf::Message& message) {
    std::string opcode = qmf::opcodeOf(message);
    if (opcode == qmf::kAgentHeartbeat || opcode == qmf::kAgentLocateResponse) {
        auto agent = qmf::console::parseAgentInfo(message);
        if (agent) {
            agents_[agent->name] = std::move(agent.value());
        }
        return;
    }
    if (opcode == qmf::kDataIndication) {
        auto events = qmf::console::parseEvents(message);
        if (events) {
            for (auto& event : *events) {
                events_.push_back(std::move(event));
            }
        }
    }
}

Result<std::vector<qmf::Message>> ConsoleSession::exchange(const qmf::Message& request,
                                                           bool multipart) {
    std::string correlation = qmf::correlationText(request);
    Status sent = connection_.send(request);
    if (!sent.ok()) {
        return sent.error();
    }
    std::vector<qmf::Message> replies;
    auto deadline = Clock::now() + timeout_;
    while (true) {
        auto left = remaining(deadline);
        if (left.count() == 0) {
            return Error{ErrorCode::Unavailable,
                         "no reply from agent " + request.subject + " within " +
                             std::to_string(timeout_.count() / 1000) + " s"};
        }
        auto message = connection_.receive(left);
        if (!message) {
            continue;
        }
        if (qmf::correlationText(*message) != correlation) {
            keep(*message);
            continue;
        }
        bool partial = message->properties.count(std::string(qmf::kPartialKey)) > 0;
        replies.push_back(std::move(*message));
        if (!multipart || !partial) {
            return replies;
        }
    }
}

Result<std::vector<AgentInfo>> ConsoleSession::listAgents(std::chrono::milliseconds wait) {
    std::string correlation = "locate-" + std::to_string(next_correlation_++);
    Status sent = connection_.send(
        qmf::console::agentLocateRequest("", "", connection_.replyTo(), correlation));
    if (!sent.ok()) {
        return sent.error();
    }
    auto deadline = Clock::now() + wait;
    while (remaining(deadline).count() > 0) {
        if (auto message = connection_.receive(remaining(deadline))) {
            keep(*message);
        }
    }
    std::vector<AgentInfo> agents;
    for (const auto& [name, agent] : agents_) {
        agents.push_back(agent);
    }
    return agents;
}

Result<AgentInfo> ConsoleSession::findImageFactory() {
    for (const auto& [name, agent] : agents_) {
        if (isImageFactory(agent, agent_filter_)) {
            return agent;
        }
    }
    std::string correlation = "locate-" + std::to_string(next_correlation_++);
    // The request carries an empty predicate and this loop filters the responses, because a
    // predicate is a list of several elements, a body that RabbitMQ 3.10's AMQP 1.0 plugin
    // cannot carry.
    Status sent = connection_.send(
        qmf::console::agentLocateRequest("", "", connection_.replyTo(), correlation));
    if (!sent.ok()) {
        return sent.error();
    }
    auto deadline = Clock::now() + timeout_;
    while (true) {
        auto left = remaining(deadline);
        if (left.count() == 0) {
            std::string missing = agent_filter_.empty() ? "no Image Factory agent"
                                                        : "no Image Factory agent " + agent_filter_;
            return Error{ErrorCode::NotFound,
                         missing + " answered within " + std::to_string(timeout_.count() / 1000) +
                             " s; is `imagefactory --qmf` running on this broker?"};
        }
        auto message = connection_.receive(left);
        if (!message) {
            continue;
        }
        keep(*message);
        auto agent = qmf::console::parseAgentInfo(*message);
        std::string opcode = qmf::opcodeOf(*message);
        bool announces = opcode == qmf::kAgentHeartbeat || opcode == qmf::kAgentLocateResponse;
        if (announces && agent && isImageFactory(*agent, agent_filter_)) {
            return agent.value();
        }
    }
}

Result<std::vector<qmf::console::DataObject>> ConsoleSession::queryClass(
    const std::string& agent_name, const std::string& class_name) {
    auto replies = exchange(
        qmf::console::queryByClass(targetFor(agent_name), std::string(qmf::schema::kPackage),
                                   class_name, std::nullopt),
        true);
    if (!replies) {
        return replies.error();
    }
    std::vector<qmf::console::DataObject> objects;
    for (const auto& message : *replies) {
        auto reply = qmf::console::parseQueryReply(message);
        if (!reply) {
            return reply.error();
        }
        if (reply->exception) {
            return Error{ErrorCode::ToolFailure, reply->exception->error_text};
        }
        for (auto& object : reply->objects) {
            objects.push_back(std::move(object));
        }
    }
    return objects;
}

Result<qmf::console::DataObject> ConsoleSession::queryObject(const std::string& agent_name,
                                                             const qmf::ObjectAddress& address) {
    auto replies = exchange(qmf::console::queryByAddress(targetFor(agent_name), address), true);
    if (!replies) {
        return replies.error();
    }
    for (const auto& message : *replies) {
        auto reply = qmf::console::parseQueryReply(message);
        if (!reply) {
            return reply.error();
        }
        if (reply->exception) {
            return Error{ErrorCode::ToolFailure, reply->exception->error_text};
        }
        if (!reply->objects.empty()) {
            return reply->objects.front();
        }
    }
    return notFound("no object " + address.object_name + " on agent " + agent_name);
}

Result<qmf::console::MethodReply> ConsoleSession::call(const std::string& agent_name,
                                                       const qmf::ObjectAddress& object,
                                                       const std::string& method,
                                                       const qmf::Map& arguments) {
    auto replies = exchange(
        qmf::console::methodRequest(targetFor(agent_name), object, method, arguments), false);
    if (!replies) {
        return replies.error();
    }
    return qmf::console::parseMethodReply(replies->front());
}

std::optional<qmf::console::Event> ConsoleSession::nextEvent(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (events_.empty()) {
        auto left = remaining(deadline);
        if (left.count() == 0) {
            return std::nullopt;
        }
        if (auto message = connection_.receive(left)) {
            keep(*message);
        }
    }
    auto event = std::move(events_.front());
    events_.pop_front();
    return event;
}

}  // namespace imagefactory
