using System.Diagnostics;
using FlowWatch.Worker.Cli;
using FlowWatch.Worker.Dashboard;
using Microsoft.Extensions.Hosting;
using YamlDotNet.RepresentationModel;

namespace FlowWatch.Integration.Tests;

/// <summary>
/// The Kubernetes manifests of <c>deploy/k8s</c> against the worker they deploy: the settings they give pass the
/// worker's own check, the probes are paths the worker answers without its token, on the port it listens on.
/// </summary>
public sealed class DeploymentManifestTests : IDisposable
{
    private static readonly string ManifestDirectory = Path.Combine(AppContext.BaseDirectory, "deploy", "k8s");

    private readonly string _dir = Directory.CreateTempSubdirectory("flowwatch-k8s-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Kustomization_ListsEveryManifestOfTheDirectory()
    {
        var listed = Mapping(Documents("kustomization.yaml").Single())["resources"];

        Assert.Equal(
            Directory.GetFiles(ManifestDirectory, "*.yaml").Select(Path.GetFileName).Where(f => f != "kustomization.yaml").Order(StringComparer.Ordinal),
            ((YamlSequenceNode)listed).Select(Text).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Worker_WithTheManifestsSettingsAndSecrets_PassesTheWorkersCheck()
    {
        var container = Container();
        var environment = Environment(container);
        // The reference data's ConfigMap, mounted where the settings look for it.
        var mount = Text(Sequence(container, "volumeMounts").Cast<YamlMappingNode>().Single(m => Text(m["name"]) == "reference")["mountPath"]);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "samples", "reference.json"), Path.Combine(_dir, "reference.json"));
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "flowwatch.dll"));
        foreach (var arg in Sequence(container, "args")) start.ArgumentList.Add(Text(arg));
        start.ArgumentList.Add("--check");
        foreach (var (name, value) in environment) start.Environment[name] = value.Replace(mount, _dir, StringComparison.Ordinal);

        using var run = Process.Start(start)!;
        var output = run.StandardOutput.ReadToEndAsync();
        var errors = await run.StandardError.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60));
        await run.WaitForExitAsync();

        Assert.True(run.ExitCode == CommandLine.Success, errors);
        Assert.Contains("valid", await output, StringComparison.Ordinal);
        // The settings name real keys: a misspelt one stops the check (and the worker), so the check above means something.
        start.Environment["FLOWWATCH_FlowWatch__Kafka__GroupIdd"] = "flowwatch";
        using var misspelt = Process.Start(start)!;
        var refused = misspelt.StandardError.ReadToEndAsync();
        await misspelt.WaitForExitAsync();
        Assert.Equal(CommandLine.CannotRun, misspelt.ExitCode);
        Assert.Contains("GroupIdd", await refused, StringComparison.Ordinal);
    }

    [Fact]
    public void Probes_ArePathsAnsweredWithoutTheToken_OnThePortTheWorkerListensOn()
    {
        var container = Container();
        var port = Sequence(container, "ports").Cast<YamlMappingNode>().Single();
        var urls = Environment(container)["FLOWWATCH_FlowWatch__Dashboard__Urls"];

        Assert.Equal(new Uri(urls).Port.ToString(System.Globalization.CultureInfo.InvariantCulture), Text(port["containerPort"]));
        foreach (var (probe, path) in new[] { ("readinessProbe", "/readyz"), ("livenessProbe", "/healthz") })
        {
            var get = Mapping(Mapping(container[probe])["httpGet"]);
            Assert.Equal(path, Text(get["path"]));
            Assert.Contains(path, DashboardSecurity.Probes);
            Assert.Equal(Text(port["name"]), Text(get["port"]));
        }
        // Listening beyond loopback needs the token, which the worker refuses to start without.
        Assert.Contains(Environment(container), e => e.Key == "FLOWWATCH_FlowWatch__Dashboard__Token");
    }

    [Fact]
    public void TerminationGrace_OutlastsTheHostsShutdownTimeout()
    {
        var pod = Mapping(Mapping(Mapping(StatefulSet()["spec"])["template"])["spec"]);

        // Within the host's timeout the worker commits every partition's state; killed before, it leaves that to recovery.
        Assert.True(int.Parse(Text(pod["terminationGracePeriodSeconds"]), System.Globalization.CultureInfo.InvariantCulture) > new HostOptions().ShutdownTimeout.TotalSeconds);
    }

    [Fact]
    public void Selectors_OfTheStatefulSetServiceAndBudget_MatchThePodsLabels()
    {
        var spec = Mapping(StatefulSet()["spec"]);
        var labels = Labels(Mapping(Mapping(spec["template"])["metadata"])["labels"]);
        var service = Objects().Single(o => Text(o["kind"]) == "Service");
        var budget = Objects().Single(o => Text(o["kind"]) == "PodDisruptionBudget");

        Assert.Equal(Text(Mapping(service["metadata"])["name"]), Text(spec["serviceName"]));
        foreach (var selector in new[] { Mapping(spec["selector"])["matchLabels"], Mapping(service["spec"])["selector"], Mapping(Mapping(budget["spec"])["selector"])["matchLabels"] })
        {
            Assert.All(Labels(selector), label => Assert.Contains(label, labels));
        }
    }

    /// <summary>Every variable the worker's container gets: the settings' ConfigMap, then its own, secrets and the pod's name filled in.</summary>
    private static Dictionary<string, string> Environment(YamlMappingNode container)
    {
        var settingsName = Text(Mapping(Mapping(Sequence(container, "envFrom").Single())["configMapRef"])["name"]);
        var settings = Objects().Single(o => Text(o["kind"]) == "ConfigMap" && Text(Mapping(o["metadata"])["name"]) == settingsName);
        var environment = Mapping(settings["data"]).ToDictionary(p => Text(p.Key), p => Text(p.Value));
        foreach (var variable in Sequence(container, "env").Cast<YamlMappingNode>())
        {
            environment[Text(variable["name"])] = variable.Children.TryGetValue("value", out var value) ? Text(value)
                : Mapping(variable["valueFrom"]).Children.ContainsKey("fieldRef") ? "flowwatch-0"
                : Text(Mapping(Mapping(variable["valueFrom"])["secretKeyRef"])["key"]) switch
                {
                    "dashboard-token" => "a-token-of-at-least-sixteen-characters",
                    "clickhouse" => "Host=clickhouse;Port=8123;Username=flowwatch;Password=secret;Database=flowwatch",
                    var key => throw new InvalidOperationException($"no test value for the secret key {key}"),
                };
        }
        return environment;
    }

    private static YamlMappingNode Container() =>
        (YamlMappingNode)((YamlSequenceNode)Mapping(Mapping(Mapping(StatefulSet()["spec"])["template"])["spec"])["containers"]).Single();

    private static YamlMappingNode StatefulSet() => Objects().Single(o => Text(o["kind"]) == "StatefulSet");

    private static IEnumerable<YamlMappingNode> Objects() =>
        Directory.GetFiles(ManifestDirectory, "*.yaml").Select(Path.GetFileName).Where(f => f != "kustomization.yaml")
            .SelectMany(f => Documents(f!)).Select(Mapping);

    private static IEnumerable<YamlNode> Documents(string file)
    {
        var stream = new YamlStream();
        using (var reader = File.OpenText(Path.Combine(ManifestDirectory, file))) stream.Load(reader);
        return stream.Documents.Select(d => d.RootNode);
    }

    private static HashSet<KeyValuePair<string, string>> Labels(YamlNode node) =>
        [.. Mapping(node).Select(p => KeyValuePair.Create(Text(p.Key), Text(p.Value)))];

    private static IEnumerable<YamlNode> Sequence(YamlMappingNode node, string key) => (YamlSequenceNode)node[key];

    private static YamlMappingNode Mapping(YamlNode node) => (YamlMappingNode)node;

    private static string Text(YamlNode node) => ((YamlScalarNode)node).Value ?? "";
}
