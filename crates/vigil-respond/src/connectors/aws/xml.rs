//! The XML AWS answers in (IAM's and EC2's Query answers, S3's documents) read into a small
//! tree, so each action picks out what it needs by element name.

use quick_xml::Reader;
use quick_xml::events::Event;

/// One element: its local name, its text and its children.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Node {
    pub name: String,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    /// The first descendant named `name`, depth first.
    pub fn find(&self, name: &str) -> Option<&Node> {
        self.children.iter().find_map(|c| if c.name == name { Some(c) } else { c.find(name) })
    }

    /// Every descendant named `name`, not looking inside a match.
    pub fn all<'a>(&'a self, name: &str) -> Vec<&'a Node> {
        let mut found = Vec::new();
        for c in &self.children {
            if c.name == name {
                found.push(c);
            } else {
                found.extend(c.all(name));
            }
        }
        found
    }

    /// The text of the first descendant named `name`.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.find(name).map(|n| n.text.as_str())
    }

    /// The direct child named `name`.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The text of a direct child named `name`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.children.iter().find(|c| c.name == name).map(|c| c.text.as_str())
    }
}

/// The document `xml` as a tree under an unnamed root; `None` when it is not well-formed.
pub fn parse(xml: &[u8]) -> Option<Node> {
    let mut reader = Reader::from_reader(xml);
    let mut stack = vec![Node::default()];
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).ok()? {
            Event::Start(e) => stack.push(Node {
                name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                ..Node::default()
            }),
            Event::Empty(e) => {
                let node = Node {
                    name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    ..Node::default()
                };
                stack.last_mut()?.children.push(node);
            }
            Event::Text(t) => {
                let text = t.decode().ok()?;
                stack.last_mut()?.text.push_str(&text);
            }
            Event::CData(t) => stack.last_mut()?.text.push_str(&String::from_utf8_lossy(&t)),
            Event::GeneralRef(r) => {
                let name = String::from_utf8_lossy(&r).into_owned();
                let c = match name.as_str() {
                    "amp" => "&".to_owned(),
                    "lt" => "<".to_owned(),
                    "gt" => ">".to_owned(),
                    "quot" => "\"".to_owned(),
                    "apos" => "'".to_owned(),
                    _ => r.resolve_char_ref().ok().flatten().map(String::from)?,
                };
                stack.last_mut()?.text.push_str(&c);
            }
            Event::End(_) => {
                let mut node = stack.pop()?;
                // Text is kept whole across references, and trimmed once the element ends.
                node.text = node.text.trim().to_owned();
                stack.last_mut()?.children.push(node);
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    (stack.len() == 1).then(|| stack.pop()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_iam_answer_reads_into_named_elements() {
        let xml = br#"<ListAccessKeysResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <ListAccessKeysResult><AccessKeyMetadata>
    <member><UserName>mallory</UserName><AccessKeyId>AKIA1</AccessKeyId><Status>Active</Status></member>
    <member><UserName>mallory</UserName><AccessKeyId>AKIA2</AccessKeyId><Status>Inactive</Status></member>
  </AccessKeyMetadata><IsTruncated>false</IsTruncated></ListAccessKeysResult>
</ListAccessKeysResponse>"#;
        let doc = parse(xml).expect("parsed");
        let members = doc.all("member");
        assert_eq!(members.len(), 2);
        assert_eq!(members[1].child_text("Status"), Some("Inactive"));
        assert_eq!(doc.text_of("IsTruncated"), Some("false"));
    }

    #[test]
    fn escaped_text_reads_as_written_and_broken_xml_is_none() {
        let doc = parse(b"<Error><Message>a &amp; b &#60;c&gt;</Message></Error>").expect("parsed");
        assert_eq!(doc.text_of("Message"), Some("a & b <c>"));
        assert_eq!(parse(b"<Error><Message>cut"), None);
    }
}
