#include "amqp/broker_connection.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <proton/codec/encoder.hpp>
#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/container.hpp>
#include <proton/delivery.hpp>
#include <proton/error_condition.hpp>
#include <proton/message.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver.hpp>
#include <proton/receiver_options.hpp>
#include <proton/sender.hpp>
#include <proton/sender_options.hpp>
#include <proton/session.hpp>
#include <proton/source.hpp>
#include <proton/source_options.hpp>
#include <proton/symbol.hpp>
#include <proton/target_options.hpp>
#include <proton/tracker.hpp>
#include <proton/transfer.hpp>
#include <proton/transport.hpp>
#include <proton/work_queue.hpp>
#include <thread>

#include "amqp/codec.hpp"
#include "amqp/log.hpp"
#include "amqp/rabbitmq_quirks.hpp"

namespace imagefactory::amqp {
namespace {

constexpr size_t kMaxReplySenders = 256;
constexpr size_t kMaxUnconfirmed = 10000;
constexpr int kCreditWindow = 200;
// The broker sends empty frames at half this interval, so a dead peer is noticed within it.
constexpr std::chrono::milliseconds kIdleTimeout(20000);
constexpr std::chrono::milliseconds kCloseGrace(2000);
// Every timed action (ticks, reconnects, the close deadline) runs from one short repeating timer.
// Proton 0.37 cannot cancel a scheduled task and its event loop only returns once the pending
// timer has fired, so a short period keeps stop() fast.
constexpr std::chrono::milliseconds kHousekeepingPeriod(200);

proton::duration toDuration(std::chrono::milliseconds ms) {
    return proton::duration(static_cast<proton::duration::numeric_type>(ms.count()));
}

std::string conditionText(const proton::error_condition& condition) {
    if (!condition) {
        return "closed by the peer";
    }
    return condition.what();
}

proton::value bindingFilter(const SourceSpec& spec) {
    proton::value filter;
    proton::codec::encoder out(filter);
    out << proton::codec::start::described() << proton::symbol(spec.filter_descriptor)
        << spec.filter_key << proton::codec::finish();
    return filter;
}

}  // namespace

class BrokerConnection::Impl : public proton::messaging_handler {
  public:
    Impl(Options options, Handler handler)
        : options_(std::move(options)), handler_(std::move(handler)) {}

    ~Impl() override { stop(); }

    void start() {
        std::lock_guard lock(mutex_);
        if (thread_.joinable()) {
            return;
        }
        thread_ = std::thread([this] { threadMain(); });
    }

    void stop() {
        {
            std::lock_guard lock(mutex_);
            stop_requested_ = true;
            if (work_queue_) {
                work_queue_->add([this] {
                    beginStop();
                    flush();
                });
            }
        }
        wake_.notify_all();
        if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
            thread_.join();
        }
    }

    bool post(std::function<void()> work) {
        std::lock_guard lock(mutex_);
        if (stop_requested_) {
            return false;
        }
        auto job = [this, work] {
            work();
            flush();
        };
        // The connection's own queue wakes the connection directly. The container's queue
        // goes through the proactor timeout, which a timer scheduled at the same moment can
        // push back by up to one housekeeping period.
        if (connection_queue_ && connection_queue_->add(job)) {
            return true;
        }
        if (work_queue_ && work_queue_->add(job)) {
            return true;
        }
        // Between two event loops (see threadMain) the work waits for the next one.
        pending_work_.push_back(std::move(work));
        return true;
    }

    bool ready() const { return ready_; }
    BrokerType style() const { return style_; }

    Status send(const qmf::Message& message, Delivery delivery) {
        if (!ready_) {
            return Error{ErrorCode::Unavailable,
                         "not connected to broker " + options_.broker.display()};
        }
        bool is_reply = message.node.empty();
        Route route;
        if (is_reply) {
            auto resolved = routeToReplyTo(style_, message.reply_to);
            if (!resolved) {
                return resolved.error();
            }
            route = std::move(resolved.value());
        } else {
            route = routeToNode(style_, message.node, message.subject);
        }

        std::vector<qmf::Message> parts{message};
        if (style_ == BrokerType::RabbitMq) {
            auto split = splitListBodyForRabbitMq(message);
            if (!split) {
                return split.error();
            }
            parts = std::move(split.value());
        }
        for (const auto& part : parts) {
            Status sent = sendOne(part, route, is_reply, delivery);
            if (!sent.ok()) {
                return sent;
            }
        }
        return okStatus();
    }

    Status sendOne(const qmf::Message& message, const Route& route, bool is_reply,
                   Delivery delivery) {
        try {
            proton::message out = toProtonMessage(message);
            // A reply's reply_to was the request's, and it is not the reply's own.
            if (is_reply) {
                out.reply_to(std::string());
            }
            // RabbitMQ rejects a message without a routing key on a topic exchange by ending the
            // session, so the subject is always set, if only to the empty string.
            out.subject(route.subject);
            proton::sender sender = is_reply ? replySender(route) : nodeSender(route);
            if (relay_) {
                out.to(route.node);
            }
            proton::tracker tracker = sender.send(out);
            if (delivery == Delivery::UntilAccepted) {
                if (unconfirmed_.size() >= kMaxUnconfirmed) {
                    logger()->warn(
                        "more than {} messages unconfirmed by the broker; dropping the "
                        "oldest subject={}",
                        kMaxUnconfirmed, unconfirmed_.front().message.subject);
                    unconfirmed_.pop_front();
                }
                unconfirmed_.push_back({tracker, message});
            }
            return okStatus();
        } catch (const proton::error& e) {
            return Error{ErrorCode::Internal, std::string("sending failed: ") + e.what()};
        }
    }

    size_t resendUnconfirmed() {
        std::deque<Unconfirmed> pending;
        pending.swap(resend_);
        size_t count = pending.size();
        for (auto& entry : pending) {
            if (!ready_) {
                // Lost again while resending: what is left waits for the next connection.
                resend_.push_back(std::move(entry));
                continue;
            }
            if (auto sent = send(entry.message, Delivery::UntilAccepted); !sent) {
                logger()->warn("resending failed: {}", sent.error().message);
            }
        }
        return count;
    }

    // messaging_handler: every callback runs on the connection thread.

    void on_tracker_settle(proton::tracker& tracker) override {
        for (auto it = unconfirmed_.begin(); it != unconfirmed_.end(); ++it) {
            if (it->tracker != tracker) {
                continue;
            }
            if (tracker.state() != proton::transfer::ACCEPTED) {
                logger()->warn("broker did not accept a message subject={} outcome={}",
                               it->message.subject, static_cast<int>(tracker.state()));
            }
            unconfirmed_.erase(it);
            return;
        }
    }

    void on_container_start(proton::container& container) override {
        std::vector<std::function<void()>> pending;
        {
            std::lock_guard lock(mutex_);
            if (stop_requested_) {
                container.stop();
                return;
            }
            pending.swap(pending_work_);
        }
        for (auto& work : pending) {
            work();
        }
        next_tick_ = std::chrono::steady_clock::now() + options_.tick_interval;
        connect();
        scheduleHousekeeping();
    }

    void on_connection_open(proton::connection& connection) override {
        std::string product;
        auto properties = connection.properties();
        if (auto it = properties.find(proton::symbol("product")); it != properties.end()) {
            if (it->second.type() == proton::STRING) {
                product = proton::get<std::string>(it->second);
            } else if (it->second.type() == proton::SYMBOL) {
                product = proton::get<proton::symbol>(it->second);
            }
        }
        style_ = options_.broker_type != BrokerType::Auto ? options_.broker_type
                                                          : brokerTypeFromProduct(product);
        auto capabilities = connection.offered_capabilities();
        relay_ = style_ == BrokerType::Qpidd &&
                 std::find(capabilities.begin(), capabilities.end(),
                           proton::symbol("ANONYMOUS-RELAY")) != capabilities.end();

        if (outage_start_) {
            auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::steady_clock::now() - *outage_start_)
                               .count();
            logger()->info("connected to broker {} after an outage of {} s product={} style={}",
                           options_.broker.display(), seconds, product.empty() ? "-" : product,
                           brokerTypeName(style_));
            outage_start_.reset();
        } else {
            logger()->info("connected to broker {} product={} style={} relay={}",
                           options_.broker.display(), product.empty() ? "-" : product,
                           brokerTypeName(style_), relay_);
        }
        retry_delay_ = options_.first_retry_delay;
        {
            std::lock_guard lock(mutex_);
            connection_queue_ = &connection.work_queue();
        }
        openLinks(connection);
    }

    void on_receiver_open(proton::receiver& receiver) override {
        if (receiver.session() != session_ || pending_receivers_ == 0) {
            return;
        }
        if (--pending_receivers_ == 0) {
            becomeReady();
        }
    }

    void on_message(proton::delivery&, proton::message& message) override {
        auto decoded = fromProtonMessage(message);
        if (!decoded) {
            logger()->warn("dropped an undecodable message: {}", decoded.error().message);
            return;
        }
        if (handler_.on_message) {
            guarded("message handler", [&] { handler_.on_message(std::move(decoded.value())); });
        }
    }

    void on_transport_error(proton::transport& transport) override {
        lost(conditionText(transport.error()));
    }

    void on_transport_close(proton::transport&) override {
        {
            // Cleared before the connection can be freed, so post() never uses a dead queue.
            std::lock_guard lock(mutex_);
            connection_queue_ = nullptr;
        }
        connected_ = false;
        ready_ = false;
        session_ = proton::session();
        reply_session_ = proton::session();
        node_senders_.clear();
        reply_senders_.clear();
        keepUnconfirmedForResend();
        if (stopping_) {
            stopContainer();
            return;
        }
        scheduleReconnect();
    }

    void on_connection_error(proton::connection& connection) override {
        lost(conditionText(connection.error()));
    }

    void on_connection_close(proton::connection&) override {
        if (!stopping_) {
            lost("connection closed by the broker");
        }
    }

    void on_session_error(proton::session& session) override {
        if (session == reply_session_) {
            // RabbitMQ ends the session for a reply target it cannot resolve, and every reply
            // sender on it dies with it. The next reply opens a new session.
            logger()->warn("reply session ended by the broker: {}", conditionText(session.error()));
            reply_senders_.clear();
            reply_session_ = proton::session();
            return;
        }
        lost("session ended by the broker: " + conditionText(session.error()));
        closeConnection();
    }

    void on_receiver_error(proton::receiver& receiver) override {
        lost("receiver " + receiver.name() + " failed: " + conditionText(receiver.error()));
        closeConnection();
    }

    void on_sender_error(proton::sender& sender) override {
        if (forgetReplySender(sender)) {
            logger()->warn("reply sender to {} failed: {}", sender.target().address(),
                           conditionText(sender.error()));
            return;
        }
        lost("sender " + sender.name() + " failed: " + conditionText(sender.error()));
        closeConnection();
    }

    void on_sender_detach(proton::sender& sender) override { forgetReplySender(sender); }

    void on_error(const proton::error_condition& condition) override {
        logger()->warn("amqp error: {}", conditionText(condition));
    }

  private:
    void threadMain() {
        while (true) {
            {
                std::lock_guard lock(mutex_);
                if (stop_requested_) {
                    return;
                }
            }
            runEventLoop();
            std::unique_lock lock(mutex_);
            if (stop_requested_) {
                return;
            }
            // The event loop ended without stop(): an exception escaped a handler (for example
            // Proton failing to decode a malformed message). A fresh container starts over.
            wake_.wait_for(lock, options_.max_retry_delay, [this] { return stop_requested_; });
        }
    }

    void runEventLoop() {
        proton::container container(*this, options_.container_id);
        container.auto_stop(false);
        {
            std::lock_guard lock(mutex_);
            container_ = &container;
            work_queue_ = std::make_unique<proton::work_queue>(container);
        }
        try {
            container.run();
        } catch (const std::exception& e) {
            logger()->error("amqp event loop failed: {}; starting a new one", e.what());
        }
        {
            std::lock_guard lock(mutex_);
            connection_queue_ = nullptr;
            work_queue_.reset();
            container_ = nullptr;
        }
        bool was_ready = ready_;
        connected_ = false;
        ready_ = false;
        stopping_ = false;
        container_stopped_ = false;
        stop_deadline_.reset();
        connect_at_.reset();
        session_ = proton::session();
        reply_session_ = proton::session();
        node_senders_.clear();
        reply_senders_.clear();
        keepUnconfirmedForResend();
        connection_ = proton::connection();
        if (was_ready && handler_.on_lost) {
            guarded("lost handler", [&] { handler_.on_lost("amqp event loop ended"); });
        }
    }

    // Messages the broker never settled may have been lost with the connection; they go out
    // again, in their order, after the next connect (so a few may arrive twice).
    void keepUnconfirmedForResend() {
        for (auto& entry : unconfirmed_) {
            resend_.push_back(std::move(entry));
        }
        unconfirmed_.clear();
        while (resend_.size() > kMaxUnconfirmed) {
            resend_.pop_front();
        }
    }

    void beginStop() {
        if (stopping_) {
            return;
        }
        stopping_ = true;
        if (connected_ && connection_) {
            connection_.close();
            stop_deadline_ = std::chrono::steady_clock::now() + kCloseGrace;
        } else {
            stopContainer();
        }
    }

    // Work that runs from the container's queue or a timer is outside the connection's own
    // events, so Proton writes the frames it produced (sends, a close) only after the
    // connection is woken.
    void flush() {
        if (connected_ && connection_) {
            connection_.wake();
        }
    }

    void stopContainer() {
        if (!container_stopped_) {
            container_stopped_ = true;
            container_->stop();
        }
    }

    void scheduleHousekeeping() {
        container_->schedule(toDuration(kHousekeepingPeriod), [this] { housekeeping(); });
    }

    void housekeeping() {
        auto now = std::chrono::steady_clock::now();
        if (stopping_) {
            if (container_stopped_) {
                return;
            }
            flush();
            if (stop_deadline_ && now >= *stop_deadline_) {
                stopContainer();
                return;
            }
            scheduleHousekeeping();
            return;
        }
        if (connect_at_ && now >= *connect_at_) {
            connect_at_.reset();
            connect();
        }
        if (options_.tick_interval.count() > 0 && handler_.on_tick && now >= next_tick_) {
            next_tick_ = now + options_.tick_interval;
            guarded("tick handler", [&] { handler_.on_tick(); });
        }
        flush();
        scheduleHousekeeping();
    }

    void connect() {
        if (stopping_) {
            return;
        }
        proton::connection_options options;
        options.idle_timeout(toDuration(kIdleTimeout));
        options.sasl_enabled(true);
        if (options_.broker.user.empty()) {
            options.sasl_allowed_mechs("ANONYMOUS");
        } else {
            options.user(options_.broker.user);
            options.password(options_.broker.password);
            options.sasl_allowed_mechs("PLAIN");
            options.sasl_allow_insecure_mechs(true);
        }
        connected_ = true;
        lost_reported_ = false;
        connection_ = container_->connect(options_.broker.hostPort(), options);
    }

    void scheduleReconnect() {
        connect_at_ = std::chrono::steady_clock::now() + retry_delay_;
        retry_delay_ = std::min(retry_delay_ * 2, options_.max_retry_delay);
    }

    void openLinks(proton::connection& connection) {
        connection_ = connection;
        session_ = connection.open_session();
        std::vector<Binding> bindings;
        if (handler_.bindings) {
            bindings = handler_.bindings(style_);
        }
        pending_receivers_ = bindings.size();
        for (const auto& binding : bindings) {
            SourceSpec spec = sourceFor(style_, binding);
            proton::source_options source;
            source.address(spec.address);
            if (!spec.filter_descriptor.empty()) {
                proton::source::filter_map filters;
                filters.put(proton::symbol("qmf-binding"), bindingFilter(spec));
                source.filters(filters);
            }
            proton::receiver_options options;
            options.name(linkName("receiver"));
            options.source(source);
            options.credit_window(kCreditWindow);
            session_.open_receiver(spec.address, options);
        }
        if (bindings.empty()) {
            becomeReady();
        }
    }

    void becomeReady() {
        ready_ = true;
        if (handler_.on_ready) {
            guarded("ready handler", [&] { handler_.on_ready(style_); });
        }
    }

    // Records a failed attempt or a lost connection once per attempt, and logs it once per
    // outage: the first failure is a warning, the retries that follow are debug messages.
    void lost(const std::string& reason) {
        if (stopping_ || lost_reported_) {
            return;
        }
        lost_reported_ = true;
        bool was_ready = ready_;
        ready_ = false;
        if (!outage_start_) {
            outage_start_ = std::chrono::steady_clock::now();
            logger()->warn("broker {} {}: {}; retrying every {} ms at most",
                           options_.broker.display(), was_ready ? "connection lost" : "unreachable",
                           reason, options_.max_retry_delay.count());
        } else {
            logger()->debug("broker {} still unreachable: {}", options_.broker.display(), reason);
        }
        if (handler_.on_lost) {
            guarded("lost handler", [&] { handler_.on_lost(reason); });
        }
    }

    void closeConnection() {
        if (connection_ && connected_) {
            try {
                connection_.close();
            } catch (const proton::error& e) {
                logger()->debug("closing the connection failed: {}", e.what());
            }
        }
    }

    proton::sender nodeSender(const Route& route) {
        std::string key = relay_ ? std::string() : route.target;
        auto it = node_senders_.find(key);
        if (it != node_senders_.end()) {
            return it->second;
        }
        proton::sender sender = openSender(session_, key);
        node_senders_.emplace(key, sender);
        return sender;
    }

    proton::sender replySender(const Route& route) {
        std::string key = relay_ ? std::string() : route.target;
        auto it = reply_senders_.find(key);
        if (it != reply_senders_.end()) {
            return it->second;
        }
        if (reply_senders_.size() >= kMaxReplySenders) {
            // Consoles come and go; rather than track use, the cache starts over when full.
            for (auto& [target, sender] : reply_senders_) {
                sender.close();
            }
            reply_senders_.clear();
        }
        if (!reply_session_) {
            reply_session_ = connection_.open_session();
        }
        proton::sender sender = openSender(reply_session_, key);
        reply_senders_.emplace(key, sender);
        return sender;
    }

    proton::sender openSender(proton::session& session, const std::string& target) {
        proton::sender_options options;
        options.name(linkName("sender"));
        if (target.empty()) {
            // Anonymous relay: a null target, never the empty string (which RabbitMQ would
            // take as a queue name).
            options.target(proton::target_options().anonymous(true));
            return session.open_sender(std::string(), options);
        }
        options.target(proton::target_options().address(target));
        return session.open_sender(target, options);
    }

    bool forgetReplySender(const proton::sender& sender) {
        for (auto it = reply_senders_.begin(); it != reply_senders_.end(); ++it) {
            if (it->second == sender) {
                reply_senders_.erase(it);
                return true;
            }
        }
        return false;
    }

    std::string linkName(const std::string& kind) {
        return options_.container_id + "-" + kind + "-" + std::to_string(++link_counter_);
    }

    template <typename Function>
    void guarded(const char* handler_name, Function&& function) {
        try {
            function();
        } catch (const std::exception& e) {
            logger()->error("{} failed: {}", handler_name, e.what());
        }
    }

    const Options options_;
    const Handler handler_;

    // Shared between threads, guarded by mutex_.
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_requested_ = false;
    proton::container* container_ = nullptr;
    std::unique_ptr<proton::work_queue> work_queue_;
    proton::work_queue* connection_queue_ = nullptr;  // of the open connection, else null
    std::vector<std::function<void()>> pending_work_;
    std::thread thread_;

    // Connection thread only. ready_ and style_ are atomics so that tests and logs may read
    // them from elsewhere without a data race.
    std::atomic<bool> ready_{false};
    std::atomic<BrokerType> style_{BrokerType::Auto};
    bool connected_ = false;
    bool stopping_ = false;
    bool container_stopped_ = false;
    std::optional<std::chrono::steady_clock::time_point> stop_deadline_;
    std::optional<std::chrono::steady_clock::time_point> connect_at_;
    std::chrono::steady_clock::time_point next_tick_;
    bool relay_ = false;
    bool lost_reported_ = false;
    size_t pending_receivers_ = 0;
    uint64_t link_counter_ = 0;
    std::chrono::milliseconds retry_delay_ = options_.first_retry_delay;
    std::optional<std::chrono::steady_clock::time_point> outage_start_;
    proton::connection connection_;
    proton::session session_;
    proton::session reply_session_;
    std::map<std::string, proton::sender> node_senders_;
    std::map<std::string, proton::sender> reply_senders_;

    struct Unconfirmed {
        proton::tracker tracker;
        qmf::Message message;
    };
    std::deque<Unconfirmed> unconfirmed_;  // sent UntilAccepted, not yet settled by the broker
    std::deque<Unconfirmed> resend_;       // unconfirmed when the last connection ended
};

BrokerConnection::BrokerConnection(Options options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

BrokerConnection::~BrokerConnection() = default;

void BrokerConnection::start() {
    impl_->start();
}

void BrokerConnection::stop() {
    impl_->stop();
}

bool BrokerConnection::post(std::function<void()> work) {
    return impl_->post(std::move(work));
}

bool BrokerConnection::ready() const {
    return impl_->ready();
}

BrokerType BrokerConnection::style() const {
    return impl_->style();
}

Status BrokerConnection::send(const qmf::Message& message, Delivery delivery) {
    return impl_->send(message, delivery);
}

size_t BrokerConnection::resendUnconfirmed() {
    return impl_->resendUnconfirmed();
}

}  // namespace imagefactory::amqp
