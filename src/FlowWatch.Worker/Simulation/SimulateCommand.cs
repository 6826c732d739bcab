using System.Globalization;
using Confluent.Kafka;
using FlowWatch.Simulator;
using FlowWatch.Worker.Cli;
using FlowWatch.Worker.Kafka;

namespace FlowWatch.Worker.Simulation;

/// <summary>
/// <c>flowwatch simulate</c>: writes a labelled synthetic stream: payments (JSONL, and/or to a Kafka topic, DESIGN.md
/// §3.5), the episodes injected into them (JSONL, one per episode with its payments' ids) and the reference data the
/// payments need.
/// </summary>
public static class SimulateCommand
{
    public const string Usage =
        "flowwatch simulate (--out E | --bootstrap-servers B [--topic T]) --labels L --reference R [--entities N] [--days D] [--seed S] [--activity X] [--amount-spread X] [--episode-rate X] [--breach-rate X]";

    public static int Run(Arguments args, TextWriter stdout)
    {
        var eventsPath = args.Optional("--out");
        var bootstrapServers = args.Optional("--bootstrap-servers");
        var topic = args.Optional("--topic");
        var labelsPath = args.Required("--labels");
        var referencePath = args.Required("--reference");
        var options = Options(args);
        args.EnsureAllRead();
        if (topic is not null && bootstrapServers is null) throw new UsageException("--topic needs --bootstrap-servers");
        if (eventsPath is null && bootstrapServers is null) throw new UsageException("--out or --bootstrap-servers is required: where the payments go");
        Arguments.EnsureDistinctFiles(("--out", eventsPath), ("--labels", labelsPath), ("--reference", referencePath));

        LabelledSimulation simulation;
        try
        {
            simulation = LabelledSimulation.Generate(options);
        }
        catch (ArgumentException ex)
        {
            // Options that validate can still describe a population too small for every typology's episodes.
            throw new UsageException(ex.Message);
        }
        var outputs = OutputFiles.Open(("--out", eventsPath), ("--labels", labelsPath), ("--reference", referencePath));
        using (var events = outputs[0])
        {
            if (events is not null) simulation.WriteEvents(events);
        }
        using (var labels = outputs[1]!) simulation.WriteLabels(labels);
        using (var reference = outputs[2]!) simulation.WriteReference(reference);
        if (bootstrapServers is not null)
        {
            topic ??= new KafkaOptions().PaymentsTopic;
            Produce(simulation.Payments, bootstrapServers, topic);
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"produced {simulation.Payments.Count:N0} payments to topic '{topic}' at {bootstrapServers}"));
        }
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"simulated {simulation.Payments.Count:N0} payments of {options.Entities:N0} entities over {options.Days} days (seed {options.Seed}), {simulation.Episodes.Count} episodes"));
        foreach (var group in simulation.Episodes.GroupBy(e => e.Typology))
        {
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {group.Key,-22} {group.Count(),4} episodes, {group.Sum(e => e.TxnIds.Count),6} payments"));
        }
        if (simulation.Breaches.Count > 0) stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{simulation.Breaches.Count:N0} payments breaking a compliance rule"));
        foreach (var group in simulation.Breaches.GroupBy(e => e.Typology))
        {
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {group.Key,-26} {group.Count(),6} payments"));
        }
        return CommandLine.Success;
    }

    /// <summary>
    /// Produces the payments in event-time order, keyed by account so that each entity's stay in order in one partition
    /// (idempotently: a retry neither reorders nor repeats them), each record stamped with its payment's time; fails
    /// unless every one is delivered.
    /// </summary>
    private static void Produce(IReadOnlyList<SimulatedPayment> payments, string bootstrapServers, string topic)
    {
        using var logging = CommandLogging.Create();
        var failures = 0L;
        Error? firstFailure = null;
        var config = new ProducerConfig { BootstrapServers = bootstrapServers, EnableIdempotence = true, LingerMs = 10, MessageTimeoutMs = 30_000 };
        using var producer = new ProducerBuilder<string, byte[]>(config).LogTo(logging.CreateLogger(typeof(SimulateCommand).FullName!), "simulate producer").Build();
        void Delivered(DeliveryReport<string, byte[]> report)
        {
            if (!report.Error.IsError) return;
            firstFailure ??= report.Error;
            Interlocked.Increment(ref failures);
        }
        foreach (var payment in payments)
        {
            // Stamped with the payment's own time, as a bank's system replaying its history would publish it: a worker
            // refuses an event dated after its record's time (FutureEventBound), and the simulated days may run past today.
            var published = new Timestamp(new DateTime(payment.UtcTicks, DateTimeKind.Utc));
            producer.ProduceWhenQueued(topic, new Message<string, byte[]> { Key = payment.Account, Value = payment.Line, Timestamp = published }, Delivered);
        }
        var undelivered = producer.Flush(TimeSpan.FromSeconds(60));
        if (undelivered > 0 || failures > 0)
        {
            throw new IOException(string.Create(CultureInfo.InvariantCulture,
                $"{failures + undelivered:N0} of {payments.Count:N0} payments not delivered to topic '{topic}' at {bootstrapServers}: {firstFailure?.Reason ?? "timed out"}"));
        }
    }

    /// <summary>The simulation options on a command line (shared by the commands that simulate).</summary>
    public static SimulationOptions Options(Arguments args, SimulationOptions? defaults = null)
    {
        defaults ??= new SimulationOptions();
        var options = defaults with
        {
            Entities = args.WholeNumber("--entities", defaults.Entities, 50, 1_000_000),
            Days = args.WholeNumber("--days", defaults.Days, 1, 3_650),
            Seed = args.WholeNumber("--seed", defaults.Seed, 0, int.MaxValue),
            Activity = args.Number("--activity", defaults.Activity, 0.01, 20),
            AmountSpread = args.Number("--amount-spread", defaults.AmountSpread, 0.1, 5),
            EpisodeRate = args.Number("--episode-rate", defaults.EpisodeRate, 0, SimulationOptions.MaxEpisodeRate),
            BreachRate = args.Number("--breach-rate", defaults.BreachRate, 0, SimulationOptions.MaxBreachRate),
        };
        var problems = options.Validate();
        return problems.Count == 0 ? options : throw new UsageException(string.Join("; ", problems));
    }
}
