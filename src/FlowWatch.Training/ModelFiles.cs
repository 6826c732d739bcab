using System.Collections.Immutable;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using FlowWatch.Core.Scoring;
using Microsoft.ML;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Transforms;

namespace FlowWatch.Training;

/// <summary>
/// The model files in a models directory: ML.NET pipelines saved with their input schema. Loading one extracts its
/// parameters into the engine's allocation-free evaluators (<see cref="PcaDetector"/>, <see cref="TreeEnsemble"/>).
/// </summary>
public static class ModelFiles
{
    public const string DetectorFile = "detector.zip";
    public const string ClassifierFile = "classifier.zip";

    /// <summary>
    /// The classifier's entry on what it was trained with, a JSON <see cref="TrainedWith"/>: the detector (the SHA-256 of
    /// the detector's entries; the detector's residual is one of the classifier's features, so the two files are used
    /// only as the pair trained together), the detector's residual on normal training events, the baseline
    /// ML_ANOMALY alerts report, the features both models read, by name in their order, and the version of their
    /// definitions (<see cref="Features.Version"/>): a pair trained on other features than the engine computes, or on
    /// features of the same names defined otherwise, is refused.
    /// </summary>
    public const string TrainedWithEntry = "FlowWatch/TrainedWithDetector";

    /// <summary>The content of <see cref="TrainedWithEntry"/>.</summary>
    /// <param name="Detector">The SHA-256, in hex, of the detector's entries.</param>
    /// <param name="NormalNoveltyP99">The detector's residual below which 99% of the normal training events lie.</param>
    /// <param name="Features">The names of the features the models were trained on, in order (<see cref="Features.Names"/>).</param>
    /// <param name="FeatureSetVersion">The version of the features' definitions the models were trained on (<see cref="Features.Version"/>).</param>
    public sealed record TrainedWith(string Detector, double NormalNoveltyP99, IReadOnlyList<string>? Features, int? FeatureSetVersion);

    /// <summary>Loads both models of <paramref name="directory"/>; fails with the file named when one is missing or not of the expected shape.</summary>
    public static ModelSet Load(string directory)
    {
        var ml = new MLContext(seed: 0);
        var detectorPath = Path.Combine(directory, DetectorFile);
        var classifierPath = Path.Combine(directory, ClassifierFile);
        // Each file is read once, into memory: a file being replaced is then either read whole or not at all, and the
        // version names exactly the bytes loaded.
        var detectorBytes = ReadVerified(detectorPath, out var detectorEntries);
        var classifierBytes = ReadVerified(classifierPath, out var classifierEntries);
        var trainedWith = ReadTrainedWith(classifierEntries.Find(entry => entry.Name == TrainedWithEntry).Content)
            ?? throw new InvalidDataException($"model file '{classifierPath}' does not name the detector it was trained with; train both models with `./flowwatch train`");
        if (trainedWith.Detector != Digest(detectorEntries))
            throw new ModelPairException($"model file '{classifierPath}' was trained with another detector than '{detectorPath}'; the two files of one training go together");
        if (trainedWith.Features is not { } features || !features.SequenceEqual(Features.Names, StringComparer.Ordinal))
        {
            throw new InvalidDataException(trainedWith.Features is null
                ? $"model file '{classifierPath}' does not name the features it was trained on; train both models again with `./flowwatch train`"
                : $"model file '{classifierPath}' was trained on other features ({string.Join(", ", trainedWith.Features)}) than the engine computes ({string.Join(", ", Features.Names)}); train both models again with `./flowwatch train`");
        }
        if (trainedWith.FeatureSetVersion != Features.Version)
        {
            throw new InvalidDataException(trainedWith.FeatureSetVersion is not { } version
                ? $"model file '{classifierPath}' does not name the version of the features' definitions it was trained on; train both models again with `./flowwatch train`"
                : $"model file '{classifierPath}' was trained on version {version} of the features' definitions, the engine computes version {Features.Version}; train both models again with `./flowwatch train`");
        }
        var detector = Detector(Load(ml, detectorBytes, detectorPath), detectorPath);
        var classifier = Classifier(Load(ml, classifierBytes, classifierPath), classifierPath);
        return new ModelSet(detector, classifier, Version(detectorEntries, classifierEntries), trainedWith.NormalNoveltyP99);
    }

    /// <summary>The <see cref="TrainedWith"/> of an entry's content, or null when there is none or it is not one.</summary>
    private static TrainedWith? ReadTrainedWith(byte[]? content)
    {
        if (content is null) return null;
        try
        {
            return JsonSerializer.Deserialize(content, TrainingJsonContext.Default.TrainedWith) is { Detector: not null } read
                   && double.IsFinite(read.NormalNoveltyP99) && read.NormalNoveltyP99 >= 0 ? read : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Marks the classifier saved at <paramref name="classifierPath"/> as trained with the detector at
    /// <paramref name="detectorPath"/>, whose residual on normal training events has <paramref name="normalNoveltyP99"/>
    /// as its 99th percentile.
    /// </summary>
    public static void MarkTrainedWith(string classifierPath, string detectorPath, double normalNoveltyP99)
    {
        ReadVerified(detectorPath, out var detectorEntries);
        using var archive = ZipFile.Open(classifierPath, ZipArchiveMode.Update);
        archive.GetEntry(TrainedWithEntry)?.Delete();
        var entry = archive.CreateEntry(TrainedWithEntry);
        using var content = entry.Open();
        JsonSerializer.Serialize(content, new TrainedWith(Digest(detectorEntries), normalNoveltyP99, Features.Names, Features.Version), TrainingJsonContext.Default.TrainedWith);
    }

    /// <summary>
    /// Rewrites the model file at <paramref name="path"/> with the same entries in the same order, each dated
    /// <see cref="EntryTime"/> instead of the time it was written and stored as it is: training from the same seed then
    /// writes the same bytes on any machine (a compressor's output may differ between processors and versions), and a
    /// model retrained unchanged shows as unchanged in version control. The file is replaced whole, never left half
    /// written.
    /// </summary>
    internal static void MakeReproducible(string path)
    {
        ReadVerified(path, out var entries);
        var rewrittenPath = path + ".rewritten";
        using (var file = new FileStream(rewrittenPath, FileMode.Create, FileAccess.Write))
        using (var rewritten = new ZipArchive(file, ZipArchiveMode.Create))
        {
            foreach (var (name, content) in entries)
            {
                var entry = rewritten.CreateEntry(name, CompressionLevel.NoCompression);
                entry.LastWriteTime = EntryTime;
                using var stream = entry.Open();
                stream.Write(content);
            }
        }
        File.Move(rewrittenPath, path, overwrite: true);
    }

    /// <summary>The date of every entry of a model file written by <see cref="MakeReproducible"/>.</summary>
    private static readonly DateTimeOffset EntryTime = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// A model file's bytes and its entries (name and content), each checked against its CRC-32. Neither ML.NET nor the
    /// zip reader checks them when an entry is read whole, and a damaged file can otherwise load wrong, or make ML.NET's
    /// loader spin.
    /// </summary>
    private static byte[] ReadVerified(string path, out List<(string Name, byte[] Content)> entries)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"model file '{path}' not found", path);
        var bytes = File.ReadAllBytes(path);
        var read = new List<(string Name, byte[] Content, uint Crc32)>();
        try
        {
            using var archive = new ZipArchive(new MemoryStream(bytes), ZipArchiveMode.Read);
            foreach (var entry in archive.Entries)
            {
                using var content = entry.Open();
                using var copy = new MemoryStream();
                content.CopyTo(copy);
                read.Add((entry.FullName, copy.ToArray(), entry.Crc32));
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or ArgumentException or NotSupportedException)
        {
            // The zip reader's own words ("Central Directory corrupt.") do not say which file they are about.
            throw new InvalidDataException($"model file '{path}' is not a readable model archive: {ex.Message}", ex);
        }
        entries = [];
        foreach (var (name, data, crc32) in read)
        {
            if (System.IO.Hashing.Crc32.HashToUInt32(data) != crc32)
                throw new InvalidDataException($"model file '{path}': entry '{name}' fails its checksum (the file is damaged)");
            entries.Add((name, data));
        }
        return bytes;
    }

    private static ITransformer Load(MLContext ml, byte[] bytes, string path)
    {
        using var stream = new MemoryStream(bytes);
        try
        {
            return ml.Model.Load(stream, out _);
        }
        catch (System.Reflection.TargetInvocationException ex) when (ex.InnerException is { } inner)
        {
            throw new InvalidDataException($"model file '{path}' does not load: {inner.Message}", inner);
        }
    }

    /// <summary>
    /// The first eight bytes, in hex, of the SHA-256 of the entries of both files (names and contents, not the zip
    /// timestamps): names the models in alerts and logs, and is the same for the same training seed.
    /// </summary>
    private static string Version(params List<(string Name, byte[] Content)>[] files) => Digest(files)[..16];

    /// <summary>The SHA-256, in hex, of the entries of <paramref name="files"/>: names and contents, in name order per file.</summary>
    private static string Digest(params List<(string Name, byte[] Content)>[] files)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var entries in files)
        {
            foreach (var (name, content) in entries.OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
                hash.AppendData(content);
            }
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Mean-variance normaliser then randomized PCA, as <see cref="ModelTrainer"/> builds them.</summary>
    public static PcaDetector Detector(ITransformer model, string source)
    {
        var parts = Parts(model);
        var normaliser = parts.OfType<NormalizingTransformer>().SingleOrDefault()
                         ?? throw new InvalidDataException($"{source}: no normaliser in the pipeline");
        if (normaliser.GetNormalizerModelParameters(0) is not NormalizingTransformer.AffineNormalizerModelParameters<ImmutableArray<float>> affine)
            throw new InvalidDataException($"{source}: the normaliser is not affine");
        var pca = parts.OfType<IPredictionTransformer<object>>().Select(p => p.Model).OfType<PcaModelParameters>().SingleOrDefault()
                  ?? throw new InvalidDataException($"{source}: no PCA model in the pipeline");
        var scale = affine.Scale.ToArray();
        var offset = affine.Offset.IsDefaultOrEmpty ? new float[scale.Length] : affine.Offset.ToArray();
        VBuffer<float> mean = default;
        pca.GetMean(ref mean);
        VBuffer<float>[] vectors = [];
        pca.GetEigenVectors(ref vectors, out var rank);
        var dimension = mean.Length;
        var components = new float[rank * dimension];
        for (var r = 0; r < rank; r++) vectors[r].DenseValues().ToArray().CopyTo(components, r * dimension);
        return new PcaDetector(offset, scale, mean.DenseValues().ToArray(), components);
    }

    /// <summary>A FastTree binary classifier with Platt calibration, as <see cref="ModelTrainer"/> builds it.</summary>
    public static TreeEnsemble Classifier(ITransformer model, string source)
    {
        var calibrated = Parts(model).OfType<IPredictionTransformer<object>>().Select(p => p.Model).OfType<CalibratedModelParametersBase>().SingleOrDefault()
                         ?? throw new InvalidDataException($"{source}: no calibrated classifier in the pipeline");
        if (calibrated.SubModel is not TreeEnsembleModelParametersBasedOnRegressionTree trees || calibrated.Calibrator is not PlattCalibrator platt)
            throw new InvalidDataException($"{source}: the classifier is not a tree ensemble with Platt calibration");
        var ensemble = trees.TrainedTreeEnsemble;
        var extracted = new List<TreeEnsemble.Tree>(ensemble.Trees.Count);
        for (var t = 0; t < ensemble.Trees.Count; t++)
        {
            var tree = ensemble.Trees[t];
            if (tree.CategoricalSplitFlags.Any(flag => flag)) throw new InvalidDataException($"{source}: tree {t} has categorical splits");
            extracted.Add(new TreeEnsemble.Tree([.. tree.NumericalSplitFeatureIndexes], [.. tree.NumericalSplitThresholds],
                [.. tree.LeftChild], [.. tree.RightChild], [.. tree.LeafValues], ensemble.TreeWeights[t]));
        }
        return new TreeEnsemble(extracted, ensemble.Bias, platt.Slope, platt.Offset);
    }

    private static List<ITransformer> Parts(ITransformer model) =>
        model is IEnumerable<ITransformer> chain ? chain.SelectMany(Parts).ToList() : [model];
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ModelFiles.TrainedWith))]
internal sealed partial class TrainingJsonContext : JsonSerializerContext;

/// <summary>The detector and the classifier of a directory are of two trainings: one of them is yet to be replaced.</summary>
public sealed class ModelPairException(string message) : Exception(message);
