using BenchmarkDotNet.Attributes;
using FlowWatch.Core.Contracts;
using FlowWatch.Core.Decoding;
using FlowWatch.Simulator;

namespace FlowWatch.Benchmarks;

/// <summary>Decoding one payment event from UTF-8 JSON into a <see cref="PaymentEvent"/>.</summary>
[MemoryDiagnoser]
public class DecodeBenchmarks
{
    private const int Batch = 10_000;
    private readonly EventDecoder _decoder = new();
    private List<byte[]> _lines = [];
    private PaymentEvent _event;

    [GlobalSetup]
    public void Setup()
    {
        _lines = new SyntheticPayments(10_000, seed: 1).Events(Batch, new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.FromHours(8)), TimeSpan.FromMilliseconds(50), "D");
        foreach (var line in _lines) _decoder.Decode(line, ref _event, out _);   // fill the string pool
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int Decode()
    {
        var payments = 0;
        foreach (var line in _lines)
        {
            if (_decoder.Decode(line, ref _event, out _) == RecordType.Payment) payments++;
        }
        return payments;
    }
}
