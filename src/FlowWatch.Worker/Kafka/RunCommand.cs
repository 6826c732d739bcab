using FlowWatch.Core.Reference;
using FlowWatch.Worker.Cli;
using FlowWatch.Worker.Configuration;
using Microsoft.Extensions.Configuration;

namespace FlowWatch.Worker.Kafka;

/// <summary><c>flowwatch run</c>: the production worker on a Kafka cluster, until SIGTERM or Ctrl-C.</summary>
public static class RunCommand
{
    public const string Usage = "flowwatch run [--config C] [--reference R] [--bootstrap-servers B]";

    public static async Task<int> RunAsync(Arguments args, TextWriter stdout)
    {
        var configuration = FlowWatchConfiguration.Build(args.Optional("--config"));
        var options = Options(configuration);
        options.ReferenceFile = args.Optional("--reference") ?? options.ReferenceFile;
        options.BootstrapServers = args.Optional("--bootstrap-servers") ?? options.BootstrapServers;
        args.EnsureAllRead();
        var problems = options.Validate();
        if (problems.Count > 0) throw new ConfigurationException(string.Join(Environment.NewLine, problems));
        var rules = FlowWatchConfiguration.Rules(configuration);
        var reference = ReferenceDataLoader.LoadFile(options.ReferenceFile);

        var worker = new StreamingWorker(options, rules, reference, TimeProvider.System, log: stdout);
        using var shutdown = new ShutdownSignal();
        stdout.WriteLine($"flowwatch: consuming {options.PaymentsTopic} from {options.BootstrapServers} as group {options.GroupId}");
        await worker.RunAsync(shutdown.Token);
        Summary.Print(stdout, "run", worker.Counters, elapsed: null);
        return CommandLine.Success;
    }

    public static KafkaOptions Options(IConfiguration configuration)
    {
        var options = new KafkaOptions();
        try
        {
            configuration.GetSection(KafkaOptions.SectionName).Bind(options, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException ex)
        {
            throw new ConfigurationException($"{KafkaOptions.SectionName}: {ex.Message}");
        }
        return options;
    }
}
