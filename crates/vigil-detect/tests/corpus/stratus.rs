//! Stratus Red Team's CloudTrail detonations: Vigil's pack plus SigmaHQ detect at least 25 of
//! the 35 techniques (rules and correlations, in time order per detonation).

use vigil_ingest::{ReadOptions, Scanned, scan_file};

use crate::{data, sigmahq};

#[test]
fn at_least_25_of_35_stratus_techniques_are_detected() {
    let (rules, _, _) = sigmahq();
    let dir = data().join("stratus-red-team/docs/detonation-logs");
    let files = vigil_ingest::input::expand(&[dir]).expect("listing detonations");
    let options = ReadOptions { views: true, ..ReadOptions::default() };
    let (mut detected, mut missed) = (Vec::new(), Vec::new());
    for file in &files {
        let mut alerts = 0;
        let mut fired = Vec::new();
        // Read as a hunt reads: rules on the borrowed views, the event mapped for its time.
        scan_file(file, &options, &mut |scanned| {
            let Scanned::Record(pending) = scanned else { return };
            let Some(time) = pending.event().map(|e| e.time) else { return };
            for (view, owned) in pending.views().iter().zip(pending.source_views()) {
                let detections = rules.evaluate_view(view);
                // Building blocks count only through the correlations they feed.
                alerts += detections.iter().filter(|d| !d.rule.building_block).count();
                fired.push((time, owned.clone(), detections));
            }
        });
        fired.sort_by_key(|(time, _, _)| *time);
        let mut correlator = rules.correlator();
        for (time, view, detections) in &fired {
            alerts += correlator.process(view, *time, detections).len();
        }
        let technique = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        if alerts > 0 { detected.push(technique) } else { missed.push(technique) }
    }
    println!("detected {} of {}:", detected.len(), files.len());
    for t in &detected {
        println!("  detected  {t}");
    }
    for t in &missed {
        println!("  missed    {t}");
    }
    assert_eq!(files.len(), 35);
    assert!(detected.len() >= 25, "detected {} of 35; missed: {missed:#?}", detected.len());
}
