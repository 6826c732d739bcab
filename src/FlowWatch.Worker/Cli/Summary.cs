using System.Globalization;
using FlowWatch.Core.Engine;

namespace FlowWatch.Worker.Cli;

/// <summary>The end-of-run summary every command prints: records, outcomes, alerts by rule and severity, rate.</summary>
public static class Summary
{
    /// <summary>Prints the summary, with <paramref name="details"/> when one engine saw everything counted (replay).</summary>
    public static void Print(TextWriter output, string title, EngineCounters c, TimeSpan? elapsed, SummaryDetails? details = null)
    {
        var inv = CultureInfo.InvariantCulture;
        output.WriteLine(title);
        output.WriteLine(string.Create(inv, $"  records read     {c.Read,12:N0}"));
        output.WriteLine(string.Create(inv, $"  accepted         {c.Accepted,12:N0}"));
        if (c.ReferenceConflicts > 0)
        {
            output.WriteLine(string.Create(inv, $"    naming another entity or kind for an account than reference data {c.ReferenceConflicts,7:N0}"));
        }
        if (c.UnknownFields > 0)
        {
            var names = details is { UnknownFieldNames.Count: > 0 } ? ": " + string.Join(", ", details.UnknownFieldNames) : "";
            output.WriteLine(string.Create(inv, $"  payments with fields the event contract does not define, passed over {c.UnknownFields,7:N0}{names}"));
        }
        output.WriteLine(string.Create(inv, $"  duplicates       {c.Duplicates,12:N0}"));
        if (c.DifferingDuplicates > 0)
        {
            var lines = details?.DifferingDuplicateLines ?? [];
            var where = lines.Count == 0 ? ""
                : string.Create(inv, $": line{(lines.Count > 1 ? "s" : "")} {string.Join(", ", lines)}{(c.DifferingDuplicates > lines.Count ? ", …" : "")}");
            output.WriteLine(string.Create(inv, $"    differing from the payment accepted with their txnId {c.DifferingDuplicates,17:N0}{where}"));
        }
        output.WriteLine(string.Create(inv, $"  late             {c.Late,12:N0}"));
        output.WriteLine(string.Create(inv, $"  control records  {c.ControlRecords,12:N0}"));
        output.WriteLine(string.Create(inv, $"  dead letters     {c.DeadLetters,12:N0}"));
        if (c.Failures > 0) output.WriteLine(string.Create(inv, $"    engine failures {c.Failures,11:N0}   (an error in FlowWatch: see the dead letters' reasons)"));
        output.WriteLine(string.Create(inv, $"  alerts           {c.Alerts,12:N0}"));
        foreach (var (rule, severity, count) in c.AlertsByRule())
        {
            output.WriteLine(string.Create(inv, $"    {rule,-26} {severity,-3} {count,10:N0}"));
        }
        if (elapsed is { } time)
        {
            var seconds = Math.Max(time.TotalSeconds, 1e-9);
            output.WriteLine(string.Create(inv, $"  elapsed {seconds:0.000} s, {c.Read / seconds:N0} records/s"));
        }
    }
}

/// <summary>
/// What one engine saw beyond its counts (replay): the names of the fields passed over, and the lines of the first
/// duplicates that differ from the payment accepted with their <c>txnId</c>.
/// </summary>
public sealed record SummaryDetails(IReadOnlyList<string> UnknownFieldNames, IReadOnlyList<long> DifferingDuplicateLines)
{
    /// <summary>Lines of differing duplicates a summary names; more are counted.</summary>
    public const int MaxDifferingDuplicateLines = 10;
}
