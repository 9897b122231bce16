#include "amqp/console_connection.hpp"

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>

#include "amqp/broker_connection.hpp"
#include "core/uuid.hpp"

namespace imagefactory::amqp {
namespace {

constexpr const char* kDirectExchange = "qmf.default.direct";
constexpr const char* kTopicExchange = "qmf.default.topic";
constexpr size_t kMaxQueuedMessages = 100000;

}  // namespace

class ConsoleConnection::Impl {
  public:
    explicit Impl(Options options)
        : options_(std::move(options)),
          id_(newUuid()),
          connection_(connectionOptions(options_, id_),
                      BrokerConnection::Handler{
                          [this](BrokerType style) { return bindings(style); },
                          [this](BrokerType style) { onReady(style); },
                          [this](qmf::Message&& in) { onMessage(std::move(in)); },
                          [this](const std::string& reason) { onLost(reason); },
                          nullptr,
                      }) {}

    Status open(std::chrono::milliseconds timeout) {
        connection_.start();
        std::unique_lock lock(mutex_);
        if (!changed_.wait_for(lock, timeout, [this] { return ready_; })) {
            std::string reason = last_error_.empty() ? "no reply" : last_error_;
            return Error{ErrorCode::Unavailable,
                         "could not connect to broker " + options_.broker.display() + " within " +
                             std::to_string(timeout.count() / 1000) + " s: " + reason};
        }
        return okStatus();
    }

    void close() { connection_.stop(); }

    std::string replyTo() const {
        std::lock_guard lock(mutex_);
        return reply_to_;
    }

    Status send(qmf::Message message) {
        if (message.reply_to.empty()) {
            message.reply_to = replyTo();
        }
        auto result = std::make_shared<std::promise<Status>>();
        auto future = result->get_future();
        bool posted = connection_.post([this, message = std::move(message), result] {
            result->set_value(connection_.send(message));
        });
        if (!posted) {
            return Error{ErrorCode::Unavailable, "the broker connection is closed"};
        }
        return future.get();
    }

    std::optional<qmf::Message> receive(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        if (!changed_.wait_for(lock, timeout, [this] { return !inbox_.empty(); })) {
            return std::nullopt;
        }
        qmf::Message message = std::move(inbox_.front());
        inbox_.pop_front();
        return message;
    }

  private:
    static BrokerConnection::Options connectionOptions(const Options& options,
                                                       const std::string& id) {
        BrokerConnection::Options out;
        out.broker = options.broker;
        out.broker_type = options.broker_type;
        out.container_id = "imagefactory-console-" + id;
        return out;
    }

    std::string directKey(BrokerType style) const {
        return style == BrokerType::RabbitMq ? "imagefactory-console." + id_
                                             : "direct-console." + id_;
    }

    std::vector<Binding> bindings(BrokerType style) const {
        std::vector<Binding> out;
        if (style == BrokerType::RabbitMq) {
            out.push_back({kDirectExchange, directKey(style)});
        } else {
            out.push_back({kTopicExchange, directKey(style)});
        }
        if (!options_.indication_queue.empty()) {
            out.push_back({"", options_.indication_queue});
        } else if (options_.receive_indications) {
            out.push_back({kTopicExchange, "agent.ind.#"});
        }
        return out;
    }

    void onReady(BrokerType style) {
        std::lock_guard lock(mutex_);
        reply_to_ = style == BrokerType::RabbitMq
                        ? std::string("/exchange/") + kDirectExchange + "/" + directKey(style)
                        : std::string(kTopicExchange) + "/" + directKey(style);
        ready_ = true;
        changed_.notify_all();
    }

    void onMessage(qmf::Message&& in) {
        std::lock_guard lock(mutex_);
        if (inbox_.size() >= kMaxQueuedMessages) {
            inbox_.pop_front();
        }
        inbox_.push_back(std::move(in));
        changed_.notify_all();
    }

    void onLost(const std::string& reason) {
        std::lock_guard lock(mutex_);
        last_error_ = reason;
    }

    const Options options_;
    const std::string id_;

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    bool ready_ = false;
    std::string reply_to_;
    std::string last_error_;
    std::deque<qmf::Message> inbox_;

    BrokerConnection connection_;
};

ConsoleConnection::ConsoleConnection(Options options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

ConsoleConnection::~ConsoleConnection() {
    impl_->close();
}

Status ConsoleConnection::open(std::chrono::milliseconds timeout) {
    return impl_->open(timeout);
}

void ConsoleConnection::close() {
    impl_->close();
}

std::string ConsoleConnection::replyTo() const {
    return impl_->replyTo();
}

Status ConsoleConnection::send(qmf::Message message) {
    return impl_->send(std::move(message));
}

std::optional<qmf::Message> ConsoleConnection::receive(std::chrono::milliseconds timeout) {
    return impl_->receive(timeout);
}

}  // namespace imagefactory::amqp
