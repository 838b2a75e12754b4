//! `#[traced]` on an async fn: prints the fn's name when its body starts.
use proc_macro::{Delimiter, Group, TokenStream, TokenTree};

#[proc_macro_attribute]
pub fn traced(_attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut tokens: Vec<TokenTree> = item.into_iter().collect();
    let name = tokens
        .windows(2)
        .find_map(|w| match (&w[0], &w[1]) {
            (TokenTree::Ident(kw), TokenTree::Ident(name)) if kw.to_string() == "fn" => Some(name.to_string()),
            _ => None,
        })
        .expect("#[traced] goes on a fn");
    let Some(TokenTree::Group(body)) = tokens.pop() else { panic!("#[traced] needs a fn body") };
    let trace: TokenStream = format!("println!(\"enter {name}\");").parse().unwrap();
    let mut new_body = trace;
    new_body.extend(body.stream());
    tokens.push(TokenTree::Group(Group::new(Delimiter::Brace, new_body)));
    tokens.into_iter().collect()
}
