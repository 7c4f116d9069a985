console.log("post of with-post ran");
