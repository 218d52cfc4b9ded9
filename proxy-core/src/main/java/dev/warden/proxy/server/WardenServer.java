package dev.warden.proxy.server;

import dev.warden.audit.AuditLog;
import dev.warden.proxy.admin.AdminServer;
import dev.warden.proxy.admin.BearerAuthenticator;
import dev.warden.proxy.approvals.ApprovalService;
import dev.warden.config.Listen;
import dev.warden.config.Policy;
import dev.warden.identity.TokenValidator;
import dev.warden.pg.codec.FrontendFrameDecoder;
import dev.warden.masking.Masker;
import dev.warden.proxy.catalog.CatalogCache;
import dev.warden.proxy.catalog.CatalogListener;
import dev.warden.proxy.guardrails.Guardrails;
import dev.warden.proxy.session.AnalysisBudget;
import dev.warden.proxy.session.AuditBudget;
import dev.warden.proxy.session.CancelRegistry;
import dev.warden.proxy.session.ConnectionBudget;
import dev.warden.proxy.session.FrontendSession;
import dev.warden.proxy.session.SessionServices;
import dev.warden.proxy.session.SessionTracker;
import dev.warden.proxy.upstream.UpstreamConnector;
import dev.warden.sql.Analyzer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/** The listening proxy: accepts clients, gives each a {@link FrontendSession}, and shuts down gracefully. */
public final class WardenServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WardenServer.class);

    private final AtomicReference<Policy> policy;
    /** Everything built from the policy that a reload replaces at once; sessions read it per statement. */
    private final AtomicReference<Enforcement> enforcement = new AtomicReference<>();

    private record Enforcement(Guardrails guardrails, Masker masker, TokenValidator tokens,
                               BearerAuthenticator adminTokens, dev.warden.proxy.session.PolicySnapshot snapshot) {
        static Enforcement of(Policy p) {
            return of(p, null);
        }

        /** Keeps {@code previous}'s fetched keys for issuers whose keys come from the same place. */
        static Enforcement of(Policy p, Enforcement previous) {
            Guardrails guardrails = new Guardrails(p.guardrails());
            Masker masker = new Masker(p.masking());
            TokenValidator tokens = previous == null ? new TokenValidator(p.issuers())
                    : previous.tokens().reloaded(p.issuers());
            return new Enforcement(guardrails, masker, tokens, new BearerAuthenticator(tokens, p.issuers()),
                    new dev.warden.proxy.session.PolicySnapshot(p, guardrails, masker));
        }
    }
    private final EventLoopGroup bossGroup;
    private final EventLoopGroup workerGroup;
    /** Read once, at start: every channel must be of the kind its event loop serves. */
    private final Transport transport = Transport.chosen();
    private final ExecutorService blocking;
    /**
     * Token checks waiting for a thread, at most: a client that sends a token and leaves while checks wait on a hung
     * provider leaves its check queued (skipped when reached), so the queue is bounded by the rate of such clients,
     * not by {@code max_connections}. Past it a login is refused with 53300.
     */
    static final int TOKEN_CHECKS_QUEUED = 4096;
    /** Token validation, apart from {@link #blocking}: see {@link SessionServices#loginExecutor()}. */
    private final ExecutorService tokenChecks;
    /** Cold statement analysis: two lanes at low priority; see AnalysisLanes. */
    private final dev.warden.proxy.session.AnalysisLanes analysis;
    private final SessionTracker tracker = new SessionTracker();
    private final AtomicInteger openSessions = new AtomicInteger();
    private final ConnectionBudget budget = new ConnectionBudget(this::policy);
    private final AnalysisBudget analysisBudget = new AnalysisBudget(() -> policy().budgets());
    private final AuditBudget auditBudget = new AuditBudget();
    private Channel serverChannel;
    private AuditLog audit;
    private ApprovalService approvals;
    private AdminServer admin;
    private final dev.warden.proxy.privilege.SessionLogins logins;
    private final java.util.Map<String, CatalogCache> catalogs = new java.util.concurrent.ConcurrentHashMap<>();
    /** One per catalog whose environment names an {@code upstream.catalog_channel}. */
    private final java.util.List<CatalogListener> catalogListeners =
            new java.util.concurrent.CopyOnWriteArrayList<>();

    /** The environment's catalog, made on first use and linked to those of environments on the same database. */
    private CatalogCache catalogOf(dev.warden.config.Environment env) {
        CatalogCache catalog = catalogs.get(env.name());
        if (catalog != null) {
            return catalog;
        }
        catalog = catalogs.computeIfAbsent(env.name(), n -> {
            CatalogCache made = new CatalogCache(env, blocking);
            CatalogListener listener = CatalogListener.startFor(env, made);
            if (listener != null) {
                catalogListeners.add(listener);
            }
            return made;
        });
        CatalogCache made = catalog;
        Runnable link = () -> {
            synchronized (catalogs) {
                // After it is in the map: of two made at once, the second to get here links the pair.
                for (CatalogCache other : catalogs.values()) {
                    made.linkIfSameDatabase(other);
                }
            }
        };
        link.run();
        // Again once its connection read which server it reads: another environment may name it otherwise.
        catalog.onIdentified(link);
        return catalog;
    }
    private java.util.function.UnaryOperator<dev.warden.sql.Analysis> readingOverride =
            java.util.function.UnaryOperator.identity();

    private WardenServer(Policy initial) {
        this.policy = new AtomicReference<>(initial);
        IoHandlerFactory io = transport.ioHandlerFactory();
        this.bossGroup = new MultiThreadIoEventLoopGroup(1, io);
        this.workerGroup = new MultiThreadIoEventLoopGroup(eventLoops(), io);
        AtomicInteger threads = new AtomicInteger();
        this.blocking = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "warden-blocking-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        AtomicInteger checkers = new AtomicInteger();
        this.tokenChecks = new java.util.concurrent.ThreadPoolExecutor(2, 2, 0, TimeUnit.MILLISECONDS,
                new java.util.concurrent.ArrayBlockingQueue<>(TOKEN_CHECKS_QUEUED), r -> {
                    Thread t = new Thread(r, "warden-token-check-" + checkers.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        this.logins = new dev.warden.proxy.privilege.SessionLogins(blocking,
                () -> policy().budgets().sessionsPerIdentity().orElse(-1));
        this.analysis = dev.warden.proxy.session.AnalysisLanes.start();
    }

    /**
     * One event loop per core, not Netty's default of two: nothing on them blocks, so more loops only add
     * wake-ups (each audit batch wakes every loop it answers). Measured on 2 cores (bench/README.md, issue 16):
     * -S -M prepared at 16 clients cost 56-61 µs of CPU per transaction with 2 loops against 64-80 with 4.
     * {@code -Dio.netty.eventLoopThreads=N} still sets the number.
     */
    static int eventLoops() {
        int set = Integer.getInteger("io.netty.eventLoopThreads", 0);
        return set > 0 ? set : Runtime.getRuntime().availableProcessors();
    }

    /** The I/O transport its channels use ({@link Transport#chosen()} when it was made). */
    public Transport transport() {
        return transport;
    }

    /** Starts listening as the policy says; returns once the port is bound. */
    public static WardenServer start(Policy policy) throws Exception {
        return start(policy, java.util.function.UnaryOperator.identity());
    }

    /**
     * For tests of the tripwire only: as {@link #start(Policy)}, with every analysis passed through
     * {@code readingOverride}, so that Warden can be made to misread a statement on purpose.
     */
    public static WardenServer start(Policy policy, java.util.function.UnaryOperator<dev.warden.sql.Analysis>
            readingOverride) throws Exception {
        WardenServer server = new WardenServer(policy);
        server.readingOverride = readingOverride;
        try {
            server.bind();
        } catch (Exception e) {
            server.close();
            throw e;
        }
        return server;
    }

    private void bind() throws Exception {
        Listen listen = policy.get().listen();
        SslContext tls = ServerTls.create(listen);
        audit = AuditLog.open(policy.get().audit());
        approvals = ApprovalService.open(policy.get().approvals(), audit);
        // An approval given with a token the policy in force revokes is not used (denied_token_ids, by issuer).
        approvals.revokedTokens((issuer, tokenId) -> policy.get().issuers().stream()
                .anyMatch(i -> i.issuer().equals(issuer) && i.deniedTokenIds().contains(tokenId)));
        enforcement.set(Enforcement.of(policy.get()));
        if (policy.get().admin().enabled()) {
            // Every admin request reads the authenticator of the policy in force, so revocations apply at once.
            dev.warden.config.AdminSettings.Address at = policy.get().admin().address().get();
            admin = AdminServer.start(at, approvals, () -> enforcement.get().adminTokens(),
                    AdminServer.isLoopback(at.host()) ? java.util.Optional.empty() : java.util.Optional.of(tls),
                    java.time.Duration.ofSeconds(10));
        }
        // No silent superuser: refuse to start rather than let PostgreSQL's own checks be void.
        logins.checkAtStartup(policy.get().environments().values());
        SessionServices services = new SessionServices(policy::get, () -> enforcement.get().guardrails(),
                analyzer(policy.get().budgets()), () -> enforcement.get().tokens(), tls,
                new UpstreamConnector(transport, listen.maxMessageBytes(), logins), new CancelRegistry(), blocking,
                tokenChecks,
                openSessions, tracker, audit, () -> enforcement.get().masker(),
                this::catalogOf, approvals,
                analysis, readingOverride, () -> enforcement.get().snapshot());
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(bossGroup, workerGroup)
                .channel(transport.serverType())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.ALLOCATOR, BufferAllocator.forServing())
                .childOption(ChannelOption.ALLOCATOR, BufferAllocator.forServing())
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(32 * 1024, 128 * 1024))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        // 64 random bits. At 32 (before), ids repeated in a long log (likely after about 65,000
                        // sessions); logs of that time still hold such ids, which search and the OCSF export tell
                        // apart by their records.
                        String id = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
                        int maxMessage = policy.get().listen().maxMessageBytes();
                        ch.pipeline().addLast("budget", budget.newHandler(maxMessage));
                        analysisBudget.attachTo(ch);
                        auditBudget.attachTo(ch);
                        // Until login only a password message is expected: its limit is a few KB, not 64 MiB.
                        ch.pipeline().addLast("frames", new FrontendFrameDecoder(
                                Math.min(maxMessage, policy.get().budgets().preLoginMessageBytes())));
                        ch.pipeline().addLast("session", new FrontendSession(services, id));
                    }
                });
        serverChannel = bootstrap.bind(listen.host(), listen.port()).sync().channel();
        log.info("warden.listening address={} transport={} environments={} policy={}", serverChannel.localAddress(),
                transport.label(), policy.get().environments().keySet(), shortHash());
    }

    /** The analyser's parse timeout and size cap are read once, at start: its cache holds what they decided. */
    private static Analyzer analyzer(dev.warden.config.Budgets budgets) {
        return new Analyzer(10_000, budgets.parseTimeout(), budgets.maxStatementLength());
    }

    private String shortHash() {
        String h = policy.get().versionHash();
        return h.length() > 12 ? h.substring(0, 12) : h;
    }

    /**
     * Replaces the policy as a whole: guardrails, masking rules, issuers and environments apply to the next
     * statement of every session and to new sessions. Settings that only a restart can change (the listener,
     * TLS, the audit sinks, approvals, admin) keep their running values; the log says so. Every reload is
     * audited with both policy versions.
     */
    public synchronized void reload(Policy next) {
        Policy old = policy.get();
        if (old.versionHash().equals(next.versionHash())) {
            return;
        }
        Enforcement built = Enforcement.of(next, enforcement.get());
        if (!old.listen().equals(next.listen()) || !old.audit().equals(next.audit())
                || !old.approvals().equals(next.approvals()) || !old.admin().equals(next.admin())) {
            log.warn("policy.reload listen, audit, approvals and admin settings changed: they apply after a restart");
        }
        enforcement.set(built);
        policy.set(next);
        tracker.policyReloaded(next);
        dev.warden.config.PolicyDiff diff = dev.warden.config.PolicyDiff.between(old, next);
        audit.append(dev.warden.audit.event.PolicyReload.accepted(old.versionHash(), next.versionHash(),
                diff.changes()));
        log.info("policy.reload accepted old={} new={} changes={}", old.versionHash().substring(0, 12),
                next.versionHash().substring(0, 12), diff.changes());
    }

    /** Records a policy edit that failed validation; the running policy stays in force. */
    public void reloadRefused(String error) {
        String old = policy.get().versionHash();
        audit.append(dev.warden.audit.event.PolicyReload.rejected(old, "", error));
        log.error("policy.reload refused, keeping version {}: {}", old.substring(0, 12), error);
    }

    public Policy policy() {
        return policy.get();
    }

    /** The bound port (useful when the policy asked for port 0). */
    public int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    /** The admin API's bound port, or -1 when the policy has no {@code admin} section. */
    public int adminPort() {
        return admin == null ? -1 : admin.port();
    }

    /** The audit log's counters: records, batches, fsyncs, failures, late wakes of its writer. */
    public AuditLog.Stats auditStats() {
        return audit.stats();
    }

    /**
     * How many times the catalog of {@code environment} was dropped whole or in part (DDL through Warden, a
     * notification on its catalog channel); 0 before its first session.
     */
    public long catalogInvalidations(String environment) {
        CatalogCache catalog = catalogs.get(environment);
        return catalog == null ? 0 : catalog.invalidations();
    }

    public int openSessions() {
        return openSessions.get();
    }

    /**
     * Stops accepting, lets sessions finish their running statement or transaction until {@code grace}
     * runs out, then closes the rest with FATAL 57P01.
     */
    public void shutdown(Duration grace) {
        log.info("warden.shutdown sessions={} grace={}s", tracker.size(), grace.toSeconds());
        if (serverChannel != null) {
            serverChannel.close().syncUninterruptibly();
        }
        tracker.beginShutdown();
        long deadline = System.nanoTime() + grace.toNanos();
        while (tracker.size() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (tracker.size() > 0) {
            log.info("warden.shutdown_deadline terminating={}", tracker.size());
            tracker.terminateAll();
            long flushDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            while (tracker.size() > 0 && System.nanoTime() < flushDeadline) {
                Thread.onSpinWait();
            }
        }
        close();
    }

    @Override
    public void close() {
        if (serverChannel != null) {
            serverChannel.close();
        }
        workerGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        bossGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        blocking.shutdownNow();
        tokenChecks.shutdownNow();
        analysis.close();
        catalogListeners.forEach(CatalogListener::close);
        catalogs.values().forEach(CatalogCache::close);
        logins.close();
        if (admin != null) {
            admin.close();
        }
        if (approvals != null) {
            approvals.close();
        }
        if (audit != null) {
            audit.close();
        }
    }
}
