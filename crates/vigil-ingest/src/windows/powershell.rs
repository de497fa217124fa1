//! PowerShell's own logs to OCSF Script Activity: script block logging (4104, the text of each
//! block as it is compiled), module logging (4103, each command with its parameters) and the
//! classic "Windows PowerShell" log's pipeline details (800). The script's text is the
//! `script_content`; who ran it comes from the event's user or the host's context lines.

use vigil_ocsf::objects::*;
use vigil_ocsf::{Class, Event};

use super::activity::script::EXECUTE;
use super::mapping::{Data, user};
use super::split_account;

/// PowerShell's provider names: the modern ETW provider and the classic log's.
pub(super) fn is_powershell(provider: &str) -> bool {
    provider.eq_ignore_ascii_case("Microsoft-Windows-PowerShell")
        || provider.eq_ignore_ascii_case("PowerShell")
}

const POWERSHELL: u32 = 2;

fn script(content: String) -> Script {
    Script {
        type_id: POWERSHELL,
        r#type: Some("PowerShell".into()),
        script_content: LongString { value: content },
        ..Script::default()
    }
}

/// `key = value` (module logging's ContextInfo) or `key=value` (the classic log's context)
/// lines, the value of `key`, empty values left out.
fn context_value(context: &str, key: &str) -> Option<String> {
    context.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().to_owned()).filter(|v| !v.is_empty())
    })
}

/// The program of the host's command line (`Host Application`), its first token, quoted or
/// not. The host process's id is not in the record, so it is the actor's application rather
/// than a process; the whole context stays in `unmapped`.
fn host_program(command_line: &str) -> String {
    let line = command_line.trim();
    let image = match line.strip_prefix('"') {
        Some(rest) => rest.split('"').next().unwrap_or(rest),
        None => line.split_whitespace().next().unwrap_or(line),
    };
    File::from_path(image).name
}

/// The actor from the host's context lines (`User`/`UserId` as `DOMAIN\name`, the host
/// application) and the event's user SID.
fn actor(context: &str, sid: Option<&str>) -> Actor {
    let account = context_value(context, "User").or_else(|| context_value(context, "UserId"));
    let u = match account {
        Some(account) => {
            let (name, domain) = split_account(&account);
            user(Some(name), domain, sid.map(str::to_owned))
        }
        None => user(None, None, sid.map(str::to_owned)),
    };
    let app_name = context_value(context, "Host Application")
        .or_else(|| context_value(context, "HostApplication"))
        .map(|c| host_program(&c))
        // The engine that logged it, when the record does not say which host ran it.
        .or_else(|| Some("PowerShell".to_owned()));
    Actor { user: u, app_name, ..Actor::default() }
}

/// The classic log's 800 record: from its three data strings (the command line, the context,
/// the details), or from the rendered message when a shipper kept only that.
fn pipeline_parts(d: &Data, message: Option<&str>) -> (String, String, String) {
    if let Some(serde_json::Value::Array(parts)) = d.0.get("Data") {
        let text = |i: usize| parts.get(i).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        return (text(0), text(1), text(2));
    }
    let message = message.map(str::to_owned).or_else(|| d.get("Message")).unwrap_or_default();
    let after = |text: &str, marker: &str| text.split_once(marker).map(|(_, rest)| rest.to_owned());
    let before =
        |text: &str, marker: &str| text.split_once(marker).map_or(text.to_owned(), |(b, _)| b.to_owned());
    let command = after(&message, "for command line:")
        .map(|rest| before(&rest, "Context Information:").trim().trim_end_matches('.').trim().to_owned())
        .unwrap_or_default();
    let context =
        after(&message, "Context Information:").map(|rest| before(&rest, "Details:")).unwrap_or_default();
    let details = after(&message, "Details:").unwrap_or_default().trim().to_owned();
    (command, context, details)
}

/// `message` is the rendered message, which some shippers keep beside (or instead of) the data.
pub(super) fn powershell(
    id: u32,
    d: &mut Data,
    time: i64,
    metadata: Metadata,
    sid: Option<&str>,
    message: Option<&str>,
) -> Option<Event> {
    let mut e = Event::new(Class::ScriptActivity, EXECUTE, time, metadata);
    match id {
        4104 => {
            let mut s = script(d.take("ScriptBlockText").filter(|t| !t.trim().is_empty())?);
            s.uid = d.take("ScriptBlockId");
            s.file =
                d.take("Path").filter(|p| !p.trim().is_empty() && p != "None").map(|p| File::from_path(&p));
            s.name = s.file.as_ref().map(|f| f.name.clone());
            e.script = Some(s);
            e.actor = Some(actor("", sid));
        }
        4103 => {
            let context = d.get("ContextInfo").unwrap_or_default();
            let mut s = script(d.take("Payload").map(|p| p.trim().to_owned()).filter(|p| !p.is_empty())?);
            s.name = context_value(&context, "Script Name");
            s.file = s.name.as_deref().map(File::from_path);
            e.script = Some(s);
            e.actor = Some(actor(&context, sid));
        }
        800 => {
            let (command, context, details) = pipeline_parts(d, message);
            let content = if command.trim().is_empty() { details } else { command };
            let mut s = script(Some(content.trim().to_owned()).filter(|c| !c.is_empty())?);
            s.name = context_value(&context, "ScriptName");
            e.script = Some(s);
            e.actor = Some(actor(&context, sid));
        }
        _ => return None,
    }
    Some(e)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn module_logging_names_the_user_and_host_from_its_context() {
        let mut d = Data::of(json!({
            "ContextInfo": "        Severity = Informational\r\n        Host Application = C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -nop\r\n        User = CORP\\alice\r\n        Script Name = \r\n",
            "Payload": "CommandInvocation(Invoke-WebRequest): \"Invoke-WebRequest\"\r\n",
        }));
        let e = powershell(4103, &mut d, 0, Metadata::default(), Some("S-1-5-21-1-2-3-1104"), None)
            .expect("mapped");
        let actor = e.actor.expect("actor");
        let u = actor.user.expect("user");
        assert_eq!(
            (u.name.as_deref(), u.domain.as_deref(), u.uid.as_deref()),
            (Some("alice"), Some("CORP"), Some("S-1-5-21-1-2-3-1104"))
        );
        assert_eq!(actor.app_name.as_deref(), Some("powershell.exe"));
        let s = e.script.expect("script");
        assert!(s.script_content.value.starts_with("CommandInvocation(Invoke-WebRequest)"));
        assert_eq!(s.name, None, "an empty Script Name is no name");
    }

    #[test]
    fn the_classic_pipeline_record_reads_from_its_message_when_that_is_all_there_is() {
        let message = "Pipeline execution details for command line:             Start-Sleep -Seconds 5;\n. \r\n\r\nContext Information: \r\n\tDetailSequence=1\r\n\tUserId=THESHIRE\\pgustavo\r\n\tHostApplication=powershell.exe -ep bypass\r\n\r\nDetails: \r\nCommandInvocation(Start-Sleep): \"Start-Sleep\"\r\n";
        let e = powershell(800, &mut Data::of(json!({})), 0, Metadata::default(), None, Some(message))
            .expect("mapped");
        assert_eq!(e.script.expect("script").script_content.value, "Start-Sleep -Seconds 5;");
        assert_eq!(e.actor.and_then(|a| a.user).and_then(|u| u.name), Some("pgustavo".into()));
    }

    #[test]
    fn the_classic_pipeline_record_falls_back_to_its_details_without_a_command_line() {
        let mut d = Data::of(
            json!({"Data": ["", "\tUserId=OFFSEC\\admmig\r\n\tHostApplication=C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\r\n", "CommandInvocation(Out-Default): \"Out-Default\"\r\n"]}),
        );
        let e = powershell(800, &mut d, 0, Metadata::default(), None, None).expect("mapped");
        assert_eq!(
            e.script.expect("script").script_content.value,
            "CommandInvocation(Out-Default): \"Out-Default\""
        );
    }

    #[test]
    fn a_block_without_text_is_not_a_script() {
        let mut d = Data::of(json!({"ScriptBlockText": "  ", "ScriptBlockId": "x"}));
        assert!(powershell(4104, &mut d, 0, Metadata::default(), Some("S-1-5-18"), None).is_none());
    }
}
